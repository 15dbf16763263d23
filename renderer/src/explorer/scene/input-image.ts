/** The input image's plane at the start of the wall: one texture, one mesh, tracked in the scene's ledger. */
import {
  DataTexture,
  LinearFilter,
  Mesh,
  MeshBasicMaterial,
  PlaneGeometry,
  RGBAFormat,
  SRGBColorSpace,
  UnsignedByteType,
  type Scene,
} from 'three';
import type { ImageSlot } from './layout';
import type { GpuLedger } from './ledger';

/** RGBA pixels of the image as the scene receives them. */
export interface ScenePixels {
  width: number;
  height: number;
  data: Uint8ClampedArray;
}

/** Checks pixels; throws a message naming the expected and actual sizes. */
export function checkPixels(img: ScenePixels | null | undefined, where: string): ScenePixels {
  if (!img || !(img.width > 0) || !(img.height > 0) || img.data?.length !== img.width * img.height * 4) {
    throw new Error(
      `${where}: expected ${img?.width}×${img?.height} RGBA pixels (${(img?.width ?? 0) * (img?.height ?? 0) * 4} bytes), got ${img?.data?.length}`,
    );
  }
  return img;
}

export class InputImagePlane {
  private obj: { mesh: Mesh; geometry: PlaneGeometry; material: MeshBasicMaterial; texture: DataTexture } | null = null;

  constructor(
    private readonly scene: Scene,
    private readonly ledger: GpuLedger,
  ) {}

  /**
   * Draws `pixels` in `slot` (replacing the previous picture), or removes the plane when either is missing. The
   * mesh and its material stay from one image to the next: disposing the material released its shader program,
   * which was compiled again for every dropped photo (about 100 ms a photo on a software renderer).
   */
  place(pixels: ScenePixels | null, slot: ImageSlot | null): void {
    if (!pixels || !slot) return this.remove();
    const { width, height, data } = pixels;
    const texture = new DataTexture(
      new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
      width,
      height,
      RGBAFormat,
      UnsignedByteType,
    );
    texture.colorSpace = SRGBColorSpace;
    texture.magFilter = LinearFilter;
    texture.minFilter = LinearFilter;
    texture.generateMipmaps = false;
    texture.needsUpdate = true;
    this.ledger.track(texture, 'texture', width * height * 4);
    const geometry = this.ledger.track(new PlaneGeometry(slot.width, slot.height), 'geometry');
    // Row 0 of the pixels is the top of the picture; the plane's v runs upwards.
    const uv = geometry.getAttribute('uv');
    for (let i = 0; i < uv.count; i++) uv.setY(i, 1 - uv.getY(i));
    if (this.obj) {
      this.ledger.release(this.obj.geometry);
      this.ledger.release(this.obj.texture);
      this.obj.mesh.geometry = geometry;
      this.obj.material.map = texture;
      this.obj = { ...this.obj, geometry, texture };
    } else {
      const material = this.ledger.track(new MeshBasicMaterial({ map: texture, toneMapped: false }), 'material');
      const mesh = new Mesh(geometry, material);
      mesh.name = 'input-image';
      this.scene.add(mesh);
      this.obj = { mesh, geometry, material, texture };
    }
    this.obj.mesh.position.set(slot.x, slot.y, 0);
  }

  remove(): void {
    if (!this.obj) return;
    this.scene.remove(this.obj.mesh);
    this.ledger.release(this.obj.geometry);
    this.ledger.release(this.obj.material);
    this.ledger.release(this.obj.texture);
    this.obj = null;
  }
}
