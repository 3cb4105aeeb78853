// Decoded pixels (RGBA, 8 bits a channel, as image decoders and a canvas give them) into the
// [0, 1] planes of a data set's images, one rule for every place images come from: an image
// folder read by Node, or files picked in a browser page.

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
