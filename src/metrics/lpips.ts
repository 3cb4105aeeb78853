// LPIPS (Zhang et al. 2018, v0.1 with AlexNet or VGG features) needs pretrained network weights
// that this project does not ship and cannot download. The network's forward pass belongs to the
// compute core; this file holds what is plain arithmetic once features exist (unit-normalising
// each layer over channels, the learned per-channel weights, the spatial mean) and the rule
// that without weights no number is printed: the result says "not computed" and why.
import { existsSync } from 'node:fs';
import type { ImageShape } from './images.js';
import { checkImages } from './images.js';

/** One tapped layer's activations, NCHW. */
export interface FeatureMap {
  data: Float32Array;
  shape: readonly [number, number, number, number];
}

/** What a network engine provides once it has loaded a weights file. */
export interface LpipsBackend {
  /** Activations of each tapped layer for images already mapped to [-1, 1] (NCHW). */
  extract(images: Float32Array, shape: ImageShape): Promise<FeatureMap[]> | FeatureMap[];
  /** LPIPS' non-negative 1x1 "lin" weights, one vector per tapped layer (its channel count). */
  linearWeights: readonly Float32Array[];
  /** e.g. 'alex' or 'vgg', recorded with the result. */
  net?: string;
}

/** Loads weights from a file the user provides and returns the feature extractor. */
export type LpipsBackendFactory = (weightsPath: string) => Promise<LpipsBackend> | LpipsBackend;

export interface LpipsNotComputed {
  computed: false;
  reason: string;
}

export type LpipsResult = { computed: true; net?: string; perImage: number[]; mean: number } | LpipsNotComputed;

export const LPIPS_NO_WEIGHTS: Readonly<LpipsNotComputed> = Object.freeze({ computed: false, reason: 'not computed: no weights' });

export interface LpipsOptions {
  weightsPath?: string;
  createBackend?: LpipsBackendFactory;
}

/**
 * Opens the backend, or says why LPIPS cannot be computed. Kept apart from `lpips` so that a
 * caller scoring several batches loads the weights once.
 */
export async function openLpips(options: LpipsOptions): Promise<LpipsBackend | LpipsNotComputed> {
  const path = options.weightsPath;
  if (path === undefined || path === '') return { ...LPIPS_NO_WEIGHTS };
  if (!existsSync(path)) return { computed: false, reason: `not computed: no weights at ${path}` };
  if (!options.createBackend) return { computed: false, reason: 'not computed: no feature extractor for the weights' };
  return await options.createBackend(path);
}

export function isLpipsBackend(x: LpipsBackend | LpipsNotComputed): x is LpipsBackend {
  return typeof (x as LpipsBackend).extract === 'function';
}

/** Maps [0, 1] images to the [-1, 1] range LPIPS' networks take (lpips' `normalize=True`). */
export function toSignedRange(images: Float32Array): Float32Array {
  const out = new Float32Array(images.length);
  for (let i = 0; i < images.length; i++) out[i] = 2 * images[i]! - 1;
  return out;
}

/** LPIPS feature of one image: each layer unit-normalised over channels at every position. */
export interface NormalizedFeatures {
  layers: { data: Float64Array; c: number; hw: number }[];
}

export function normalizeFeatures(maps: readonly FeatureMap[], index: number): NormalizedFeatures {
  return {
    layers: maps.map((m) => {
      const [, c, h, w] = m.shape;
      const hw = h * w;
      const off = index * c * hw;
      const data = new Float64Array(c * hw);
      for (let p = 0; p < hw; p++) {
        let ss = 0;
        for (let ch = 0; ch < c; ch++) ss += m.data[off + ch * hw + p]! ** 2;
        // lpips' normalize_tensor: x / (sqrt(sum x^2) + 1e-10)
        const scale = 1 / (Math.sqrt(ss) + 1e-10);
        for (let ch = 0; ch < c; ch++) data[ch * hw + p] = m.data[off + ch * hw + p]! * scale;
      }
      return { data, c, hw };
    }),
  };
}

/** `sum_layers mean_positions sum_c w_c (a_c - b_c)^2` on normalised features. */
export function lpipsDistance(a: NormalizedFeatures, b: NormalizedFeatures, lin: readonly Float32Array[]): number {
  if (lin.length !== a.layers.length) {
    throw new Error(`lpips: ${lin.length} weight vectors for ${a.layers.length} feature layers`);
  }
  let total = 0;
  a.layers.forEach((la, l) => {
    const lb = b.layers[l]!;
    const w = lin[l]!;
    if (w.length !== la.c) throw new Error(`lpips: layer ${l} has ${la.c} channels but ${w.length} weights`);
    let s = 0;
    for (let ch = 0; ch < la.c; ch++) {
      let d = 0;
      for (let p = 0; p < la.hw; p++) d += (la.data[ch * la.hw + p]! - lb.data[ch * la.hw + p]!) ** 2;
      s += w[ch]! * d;
    }
    total += s / la.hw;
  });
  return total;
}

/** Normalised features of every image of a [0, 1] batch. */
export async function lpipsFeatures(backend: LpipsBackend, images: Float32Array, shape: ImageShape): Promise<NormalizedFeatures[]> {
  checkImages(images, shape, 'lpips');
  const maps = await backend.extract(toSignedRange(images), shape);
  for (const m of maps) {
    if (m.shape[0] !== shape[0]) throw new Error(`lpips: a feature map has batch ${m.shape[0]}, images ${shape[0]}`);
  }
  return Array.from({ length: shape[0] }, (_, i) => normalizeFeatures(maps, i));
}

/**
 * LPIPS of each pair (truth[i], recon[i]), images in [0, 1]. Without a weights file, or without
 * a backend able to read it, the result is `{computed: false, reason}`, never a number.
 */
export async function lpips(
  truth: Float32Array,
  recon: Float32Array,
  shape: ImageShape,
  options: LpipsOptions,
): Promise<LpipsResult> {
  const opened = await openLpips(options);
  if (!isLpipsBackend(opened)) return opened;
  return lpipsWith(opened, truth, recon, shape);
}

/** LPIPS of each pair with a backend already open (see openLpips). */
export async function lpipsWith(backend: LpipsBackend, truth: Float32Array, recon: Float32Array, shape: ImageShape): Promise<LpipsResult> {
  const ft = await lpipsFeatures(backend, truth, shape);
  const fr = await lpipsFeatures(backend, recon, shape);
  const perImage = ft.map((f, i) => lpipsDistance(f, fr[i]!, backend.linearWeights));
  const mean = perImage.reduce((s, v) => s + v, 0) / perImage.length;
  return backend.net === undefined ? { computed: true, perImage, mean } : { computed: true, net: backend.net, perImage, mean };
}
