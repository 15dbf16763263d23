/**
 * The scene's camera and its orbit controls, with the focus / overview glide between poses. It renders
 * nothing itself: `step` advances a glide and the damping by one animation frame and says whether more
 * frames are needed, so the scene can render on demand.
 */
import { PerspectiveCamera } from 'three';
import { OrbitControls } from 'three/examples/jsm/controls/OrbitControls.js';
import { clipPlanes, easeInOutCubic, glideMs, lerpPose, type Pose, type V3 } from './camera';

/** Vertical field of view of the scene's camera, degrees. */
export const FOV = 35;

export class CameraRig {
  readonly camera = new PerspectiveCamera(FOV, 1, 0.1, 1e5);
  readonly controls: OrbitControls;
  private glide: { from: Pose; to: Pose; start: number; duration: number } | null = null;
  private readonly reducedMotion =
    typeof matchMedia === 'function' && matchMedia('(prefers-reduced-motion: reduce)').matches;

  constructor(element: HTMLElement) {
    this.camera.position.set(0, 0, 500);
    const c = new OrbitControls(this.camera, element);
    c.enableDamping = true;
    c.dampingFactor = 0.15;
    c.screenSpacePanning = true;
    c.zoomToCursor = true;
    c.rotateSpeed = 0.8;
    this.controls = c;
  }

  /** Camera position and orbit target now. */
  pose(): Pose {
    return { position: this.camera.position.toArray() as V3, target: this.controls.target.toArray() as V3 };
  }

  /** Jumps to a pose (stops a glide). */
  set(p: Pose): void {
    this.glide = null;
    this.apply(p);
    this.controls.update();
  }

  private apply(p: Pose): void {
    this.camera.position.set(...p.position);
    this.controls.target.set(...p.target);
    this.camera.lookAt(this.controls.target);
  }

  /** Glides to `to` (or jumps when `animate` is false or the user prefers reduced motion); `sceneSize` sets its pace. */
  glideTo(to: Pose, animate: boolean, sceneSize: number): void {
    if (!animate || this.reducedMotion) {
      this.glide = null;
      this.apply(to);
    } else {
      const from = this.pose();
      this.glide = { from, to, start: performance.now(), duration: glideMs(from, to, sceneSize) };
    }
    this.controls.update();
  }

  /** The user took over (a drag, a key): the glide stops where it is. */
  stopGlide(): void {
    this.glide = null;
  }

  get gliding(): boolean {
    return this.glide !== null;
  }

  /** Advances the glide and the damping to time `now`; true while another frame is needed. */
  step(now: number): boolean {
    let moving = false;
    if (this.glide) {
      const t = (now - this.glide.start) / this.glide.duration;
      this.apply(lerpPose(this.glide.from, this.glide.to, easeInOutCubic(t)));
      if (t < 1) moving = true;
      else this.glide = null;
    }
    if (this.controls.update()) moving = true;
    return moving;
  }

  /** Near and far planes hugging the scene box (see `clipPlanes`). */
  fitClip(bounds: { min: readonly number[]; max: readonly number[] }, margin: number): void {
    const { near, far } = clipPlanes(this.camera.position.toArray() as V3, bounds, margin);
    this.camera.near = near;
    this.camera.far = far;
    this.camera.updateProjectionMatrix();
  }

  /** Follows the canvas's aspect ratio. */
  setAspect(aspect: number): void {
    this.camera.aspect = aspect;
    this.camera.updateProjectionMatrix();
  }

  /** Pixels per world unit at distance 1 for a view `heightPx` tall (CSS px). */
  focalPx(heightPx: number): number {
    return heightPx / 2 / Math.tan((this.camera.fov * Math.PI) / 360);
  }

  dispose(): void {
    this.controls.dispose();
  }
}
