/**
 * The scene's keyboard, when the canvas has focus: Shift+arrows orbit, Alt+arrows pan, +/− zoom, 0 overview,
 * F frames the focused layer. Handled keys do not bubble, so the app's own arrow keys (next / previous layer)
 * keep working when no modifier is held.
 */
import { Spherical, Vector3, type PerspectiveCamera } from 'three';
import type { OrbitControls } from 'three/examples/jsm/controls/OrbitControls.js';

export interface KeyTarget {
  camera: PerspectiveCamera;
  controls: OrbitControls;
  resetView(): void;
  refocus(): void;
  /** Called after a handled key moved the camera. */
  moved(): void;
}

const ARROWS: Record<string, [number, number]> = {
  ArrowLeft: [-1, 0],
  ArrowRight: [1, 0],
  ArrowUp: [0, 1],
  ArrowDown: [0, -1],
};

/** Handles one key; returns true when it was the scene's (the event is then consumed). */
export function handleSceneKey(e: KeyboardEvent, t: KeyTarget): boolean {
  const { camera, controls } = t;
  const dir = ARROWS[e.key];
  const offset = new Vector3().subVectors(camera.position, controls.target);
  if (dir && e.shiftKey) {
    const spherical = new Spherical().setFromVector3(offset);
    spherical.theta -= dir[0] * (Math.PI / 36);
    spherical.phi = Math.min(Math.PI - 0.05, Math.max(0.05, spherical.phi - dir[1] * (Math.PI / 36)));
    offset.setFromSpherical(spherical);
    camera.position.copy(controls.target).add(offset);
  } else if (dir && e.altKey) {
    const step = offset.length() * 0.05;
    const right = new Vector3().setFromMatrixColumn(camera.matrix, 0).multiplyScalar(dir[0] * step);
    const up = new Vector3().setFromMatrixColumn(camera.matrix, 1).multiplyScalar(dir[1] * step);
    camera.position.add(right).add(up);
    controls.target.add(right).add(up);
  } else if (e.key === '+' || e.key === '=') controls.dollyIn(1.25);
  else if (e.key === '-' || e.key === '_') controls.dollyOut(1.25);
  else if (e.key === '0') t.resetView();
  else if (e.key === 'f' || e.key === 'F') t.refocus();
  else return false;
  e.preventDefault();
  e.stopPropagation();
  t.moved();
  return true;
}
