// Deterministic test images defined by formula, so the Python reference values quoted in the
// tests were computed on exactly the same pixels.

export function pattern(shape: readonly number[], s: number): Float32Array {
  const n = shape.reduce((a, b) => a * b, 1);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = 0.5 + 0.3 * Math.sin(0.37 * i + s) + 0.15 * Math.cos(0.091 * i * i + 2 * s);
  return out;
}

export function perturb(a: Float32Array): Float32Array {
  return a.map((v, i) => Math.min(1, Math.max(0, v + 0.1 * Math.sin(2.3 * i + 1))));
}
