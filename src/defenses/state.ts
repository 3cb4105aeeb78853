// Defense state is plain data (objects, arrays, numbers, typed arrays), so structuredClone keeps
// it as it is. JSON does not know typed arrays: these two functions tag them and store their bytes
// as base64, so a checkpoint can be a text file. No Node built-in: Node's Buffer when there is one
// (several times faster on large residuals), else the browser's atob/btoa.
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
        const copy = fromBase64((value as Record<string, string>)[tag]!); // aligned, owned buffer
        return new TAGS[tag](copy.buffer, 0, copy.byteLength / 4);
      }
    }
    return value;
  });
}

/** Node's Buffer, looked up at run time so that the module runs (and bundles) where there is none. */
interface BufferLike {
  from(data: ArrayBuffer | string, offsetOrEncoding?: number | 'base64', length?: number): Uint8Array & { toString(encoding: 'base64'): string };
}
const nodeBuffer = (globalThis as { Buffer?: BufferLike }).Buffer;

function base64(a: Float32Array | Uint32Array): string {
  if (nodeBuffer) return nodeBuffer.from(a.buffer as ArrayBuffer, a.byteOffset, a.byteLength).toString('base64');
  const bytes = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  let binary = '';
  // In chunks: String.fromCharCode takes its bytes as arguments, and argument lists are bounded.
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary);
}

function fromBase64(text: string): Uint8Array<ArrayBuffer> {
  if (nodeBuffer) return new Uint8Array(nodeBuffer.from(text, 'base64'));
  const binary = atob(text);
  const out = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
  return out;
}
