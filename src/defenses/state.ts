// Defense state is plain data (objects, arrays, numbers, typed arrays), so structuredClone keeps
// it as it is. JSON does not know typed arrays: these two functions tag them and store their bytes
// as base64, so a checkpoint can be a text file.
const TAGS = { $f32: Float32Array, $u32: Uint32Array } as const;

export function stateToJSON(state: unknown): string {
  return JSON.stringify(state, (_key, value: unknown) => {
    if (value instanceof Float32Array) return { $f32: base64(value) };
    if (value instanceof Uint32Array) return { $u32: base64(value) };
    if (ArrayBuffer.isView(value)) throw new Error(`stateToJSON: cannot store a ${value.constructor.name}`);
    return value;
  });
}

export function stateFromJSON(text: string): unknown {
  return JSON.parse(text, (_key, value: unknown) => {
    if (value && typeof value === 'object' && !Array.isArray(value)) {
      const keys = Object.keys(value);
      if (keys.length === 1 && keys[0]! in TAGS) {
        const tag = keys[0] as keyof typeof TAGS;
        const bytes = Buffer.from((value as Record<string, string>)[tag]!, 'base64');
        const copy = new Uint8Array(bytes); // aligned, owned buffer
        return new TAGS[tag](copy.buffer, 0, copy.byteLength / 4);
      }
    }
    return value;
  });
}

function base64(a: Float32Array | Uint32Array): string {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('base64');
}
