// The runtime that executes a lowered graph, behind one small interface: a session made from ONNX
// bytes, run on named float32 inputs, released when no longer used. Nothing else in the core knows
// which runtime it is, so the same graphs run in onnxruntime-node (the default under Node) and in
// onnxruntime-web (a browser page: call setEngine(await webEngine()) before compiling anything).
export interface EngineTensor {
  data: Float32Array;
  shape: readonly number[];
}

export interface EngineSession {
  /** The named outputs, in the order asked for; into[k], when given, receives output k (and is returned). */
  run(feeds: Record<string, EngineTensor>, outputs: readonly string[], into?: readonly (EngineTensor | undefined)[]): Promise<Float32Array[]>;
  release(): Promise<void>;
}

/**
 * threads: intra-op threads. spin: whether idle worker threads spin instead of sleeping (with other
 * jobs on the machine spinning workers made a ConvNet training step 2-2.5x and a ResNet-18 step
 * 1.5-2x slower). level: onnxruntime's graph optimisation level.
 */
export interface SessionSettings {
  threads: number;
  spin: boolean;
  level: 'disabled' | 'basic' | 'extended' | 'all';
}

export interface Engine {
  readonly name: string;
  createSession(onnx: Uint8Array, options: SessionSettings): Promise<EngineSession>;
}

let current: Engine | Promise<Engine> | null = null;

/** Every session made from now on runs in `engine`. */
export function setEngine(engine: Engine): void {
  current = engine;
}

/** The engine in use; under Node, onnxruntime-node unless another was set. */
export function currentEngine(): Promise<Engine> {
  current ??= nodeEngine();
  return Promise.resolve(current);
}

/** onnxruntime-node (loaded on first use, so that a browser bundle never runs it). */
export async function nodeEngine(): Promise<Engine> {
  const ort = await import('onnxruntime-node');
  return {
    name: 'onnxruntime-node',
    async createSession(onnx, { threads, spin, level }) {
      const s = await ort.InferenceSession.create(onnx, {
        intraOpNumThreads: threads,
        interOpNumThreads: 1,
        executionMode: 'sequential',
        graphOptimizationLevel: level,
        extra: { session: { intra_op: { allow_spinning: spin ? '1' : '0' } } },
      });
      return wrap(s, (data, shape) => new ort.Tensor('float32', data, shape as number[]));
    },
  };
}

/**
 * onnxruntime-web's WebAssembly backend (SIMD; threads where the page is cross-origin isolated).
 * `wasmPaths`: where the page serves ort-wasm-simd-threaded.{mjs,wasm}.
 */
export async function webEngine(o: { wasmPaths?: string; threads?: number } = {}): Promise<Engine> {
  const ort = await import('onnxruntime-web/wasm');
  if (o.wasmPaths) ort.env.wasm.wasmPaths = o.wasmPaths;
  const isolated = (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated === true;
  ort.env.wasm.numThreads = isolated ? (o.threads ?? Math.min(4, (globalThis.navigator?.hardwareConcurrency ?? 2))) : 1;
  return {
    name: `onnxruntime-web (wasm, ${ort.env.wasm.numThreads} thread${ort.env.wasm.numThreads === 1 ? '' : 's'})`,
    async createSession(onnx, { level }) {
      const s = await ort.InferenceSession.create(onnx, { executionProviders: ['wasm'], graphOptimizationLevel: level });
      return wrap(s, (data, shape) => new ort.Tensor('float32', data, shape as number[]));
    },
  };
}

interface OrtSession {
  run(feeds: Record<string, unknown>, fetches?: Record<string, unknown>): Promise<Record<string, { data: unknown }>>;
  release(): Promise<void>;
}

function wrap<T>(session: OrtSession, tensor: (data: Float32Array, shape: readonly number[]) => T): EngineSession {
  return {
    async run(feeds, outputs, into) {
      const named: Record<string, T> = {};
      for (const [k, v] of Object.entries(feeds)) named[k] = tensor(v.data, v.shape);
      if (!into) {
        const res = await session.run(named);
        return outputs.map((n) => res[n]!.data as Float32Array);
      }
      // onnxruntime writes an output into a tensor given in `fetches` (null: it allocates).
      const fetches: Record<string, T | null> = {};
      outputs.forEach((n, k) => (fetches[n] = into[k] ? tensor(into[k]!.data, into[k]!.shape) : null));
      const res = await session.run(named, fetches);
      return outputs.map((n, k) => into[k]?.data ?? (res[n]!.data as Float32Array));
    },
    release: () => session.release(),
  };
}
