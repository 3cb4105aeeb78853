// A state (plain data with Float32Arrays inside, e.g. clients' error-feedback residuals) as a JSON
// skeleton plus named tensors, so the floats go to a safetensors file: JSON text of a ResNet-18
// run's residuals exceeds the longest string V8 can make.
import type { NamedTensor } from '../common/index.js';

/** The state with every Float32Array replaced by a reference to a tensor of that name (pushed to `out`). */
export function splitTensors(value: unknown, path: string, out: NamedTensor[]): unknown {
  if (value instanceof Float32Array) {
    out.push({ name: path, shape: [value.length], data: value });
    return { $tensor: path };
  }
  if (Array.isArray(value)) return value.map((v, i) => splitTensors(v, `${path}.${i}`, out));
  if (value !== null && typeof value === 'object' && !ArrayBuffer.isView(value)) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, splitTensors(v, `${path}.${k}`, out)]));
  }
  return value; // numbers, strings, null; other typed arrays go through stateToJSON's tags
}

/** The inverse of splitTensors. */
export function joinTensors(value: unknown, tensors: ReadonlyMap<string, Float32Array>, fail: (why: string) => never): unknown {
  if (Array.isArray(value)) return value.map((v) => joinTensors(v, tensors, fail));
  if (value !== null && typeof value === 'object' && !ArrayBuffer.isView(value)) {
    const keys = Object.keys(value);
    if (keys.length === 1 && keys[0] === '$tensor') {
      const name = (value as { $tensor: unknown }).$tensor;
      const t = typeof name === 'string' ? tensors.get(name) : undefined;
      return t ?? fail(`its state names tensor ${JSON.stringify(name)}, which the file does not hold`);
    }
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, joinTensors(v, tensors, fail)]));
  }
  return value;
}
