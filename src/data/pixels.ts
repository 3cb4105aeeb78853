// Pixels into the [0, 1] planes of a data set's images, one rule for every place images come
// from (files read by Node, or fetched and decoded by a browser page): bytes as torchvision's
// ToTensor takes them (byte / 255), and decoded RGBA (8 bits a channel, as image decoders and a
// canvas give them). No Node built-ins: a page bundles this.

/**
 * Writes `plane` pixels of `rgba` into `out` at `offset` as `channels` planes: RGB as they are, or
 * one grey plane (a grey pixel as it is, a colour one by the ITU-R BT.601 luma weights).
 */
export function rgbaToPlanes(rgba: ArrayLike<number>, channels: number, plane: number, out: Float32Array, offset: number): void {
  for (let p = 0; p < plane; p++) {
    const r = rgba[4 * p]!;
    const g = rgba[4 * p + 1]!;
    const b = rgba[4 * p + 2]!;
    if (channels === 1) out[offset + p] = (r === g && g === b ? r : Math.round(0.299 * r + 0.587 * g + 0.114 * b)) / 255;
    else {
      out[offset + p] = r / 255;
      out[offset + plane + p] = g / 255;
      out[offset + 2 * plane + p] = b / 255;
    }
  }
}

// A table rather than a division per pixel: the values are exactly float32(i / 255), and the
// lookup keeps loading all of MNIST well under a second.
const UNIT = new Float32Array(256);
for (let i = 0; i < 256; i++) UNIT[i] = i / 255;

/** bytes[i] / 255 into out[offset + i]. */
export function bytesToUnit(bytes: Uint8Array, out: Float32Array, offset = 0): void {
  const n = bytes.length;
  for (let i = 0; i < n; i++) out[offset + i] = UNIT[bytes[i]!]!;
}
