// Looks for copies of images inside an object graph, by content: what the attacker receives must
// not hold the data it is meant to recover, in any form. Finds an image's float32 values as any run
// of bytes in a typed array or Buffer (a copy, a window into the data set, a view of another type),
// its float64 values, its values in a plain number array, and its bytes as base64 or its values as
// JSON text in any string (object keys included). Closures cannot be looked into: a function's own
// properties are searched, the variables it captured are not.

export interface Needle {
  /** Names the image in a finding, e.g. "image 3 (normalised)". */
  label: string;
  values: Float32Array;
}

/** Paths (e.g. `secrets.imprint.debug`) at which a copy of a needle was found, with what was found. */
export function findCopies(root: unknown, needles: readonly Needle[]): string[] {
  const patterns = needles.map(patternsOf);
  const found: string[] = [];
  const seen = new Set<unknown>();
  const visit = (v: unknown, path: string): void => {
    if (typeof v === 'string') {
      searchString(v, path);
      return;
    }
    if ((typeof v !== 'object' && typeof v !== 'function') || v === null || seen.has(v)) return;
    seen.add(v);
    if (ArrayBuffer.isView(v)) {
      searchBytes(Buffer.from(v.buffer, v.byteOffset, v.byteLength), path);
      return;
    }
    if (v instanceof ArrayBuffer || v instanceof SharedArrayBuffer) {
      searchBytes(Buffer.from(v), path);
      return;
    }
    if (Array.isArray(v)) searchNumbers(v, path);
    if (v instanceof Map) {
      for (const [k, x] of v) {
        visit(k, `${path}<key>`);
        visit(x, `${path}.get(${String(k)})`);
      }
    }
    if (v instanceof Set) for (const x of v) visit(x, `${path}<member>`);
    for (const key of Reflect.ownKeys(v)) {
      if (typeof key === 'string') searchString(key, `${path}<key ${key.slice(0, 20)}>`);
      // Own data properties only: a getter is not run (it could compute anything).
      const d = Object.getOwnPropertyDescriptor(v, key);
      if (d && 'value' in d) visit(d.value, `${path}.${String(key)}`);
    }
  };

  function searchBytes(hay: Buffer, path: string): void {
    patterns.forEach((p, k) => {
      if (hay.indexOf(p.f32) >= 0) found.push(`${path}: ${needles[k]!.label} as float32`);
      else if (hay.indexOf(p.f64) >= 0) found.push(`${path}: ${needles[k]!.label} as float64`);
    });
  }
  function searchNumbers(a: unknown[], path: string): void {
    needles.forEach((nd, k) => {
      const x = nd.values;
      for (let i = 0; i + x.length <= a.length; i++) {
        let j = 0;
        while (j < x.length && a[i + j] === x[j]) j++;
        if (j === x.length) {
          found.push(`${path}[${i}..]: ${needles[k]!.label} as a number array`);
          return;
        }
      }
    });
  }
  function searchString(s: string, path: string): void {
    if (s.length < 8) return;
    const compact = s.replace(/\s+/g, '');
    patterns.forEach((p, k) => {
      if (p.base64.some((b) => s.includes(b))) found.push(`${path}: ${needles[k]!.label} as base64`);
      else if (compact.includes(p.json)) found.push(`${path}: ${needles[k]!.label} as JSON`);
    });
  }
  visit(root, '(root)');
  return found;
}

function patternsOf(n: Needle): { f32: Buffer; f64: Buffer; base64: string[]; json: string } {
  const f32 = Buffer.from(n.values.buffer, n.values.byteOffset, n.values.byteLength);
  // Base64 encodes 3 bytes at a time, so a copy inside a longer string reads as one of three
  // encodings depending on where it starts; the last group (which may mix in other bytes) is left off.
  const base64 = [0, 1, 2].map((a) => {
    const b = f32.subarray(a);
    return b.subarray(0, b.length - (b.length % 3)).toString('base64');
  });
  // Eight values are plenty: their digits do not occur by chance.
  const json = Array.from(n.values.subarray(0, Math.min(8, n.values.length))).join(',');
  return { f32: Buffer.from(f32), f64: Buffer.from(Float64Array.from(n.values).buffer), base64, json };
}
