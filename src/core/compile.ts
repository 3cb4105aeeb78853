// Turns a function over symbolic tensors into something that runs: traced once per set of input
// shapes, lowered to ONNX, and executed by onnxruntime-node from a cached session.
import ort from 'onnxruntime-node';
import { Graph, type Shape, Sym } from './graph.js';
import { interpret } from './interpret.js';
import { lowerToOnnx } from './onnx.js';

export type TracedFn = (...inputs: Sym[]) => Sym | Sym[];

export interface Traced {
  graph: Graph;
  inputs: Sym[];
  outputs: Sym[];
}

/** Runs `fn` on fresh symbolic inputs of the given shapes and records what it computes. */
export function trace(fn: TracedFn, shapes: Shape[]): Traced {
  const graph = new Graph();
  const inputs = shapes.map((s) => graph.input(s));
  const out = fn(...inputs);
  const outputs = Array.isArray(out) ? out : [out];
  for (const o of outputs) {
    if (!(o instanceof Sym) || o.graph !== graph) throw new Error('trace: the function must return symbolic tensors of its own trace');
  }
  return { graph, inputs, outputs };
}

export interface Input {
  data: Float32Array;
  shape: Shape;
}

export interface CompileOptions {
  /** For error messages and profiling. */
  name?: string;
  /** onnxruntime intra-op threads; default from DGP_THREADS, else 2. */
  threads?: number;
  /**
   * Whether onnxruntime's idle worker threads spin instead of sleeping; default from DGP_ORT_SPIN
   * (1 or 0), else off. Spinning saves microseconds per operator on an idle machine and costs far
   * more on a busy one: measured here with other jobs running, a ConvNet training step took 2-2.5
   * times longer with spinning, a ResNet-18 step 1.5-2 times.
   */
  spin?: boolean;
  /** onnxruntime's graph optimisation level; default from DGP_ORT_OPT_LEVEL, else 'all' (for these graphs 'extended' gives the same optimised model). */
  optimizationLevel?: 'disabled' | 'basic' | 'extended' | 'all';
}

/** The onnxruntime session options a compiled function runs with. */
export function sessionOptions(o: CompileOptions = {}): ort.InferenceSession.SessionOptions {
  const threads = o.threads ?? (Number(process.env.DGP_THREADS) || 2);
  const spin = o.spin ?? process.env.DGP_ORT_SPIN === '1';
  const level = o.optimizationLevel ?? (process.env.DGP_ORT_OPT_LEVEL as CompileOptions['optimizationLevel']) ?? 'all';
  if (!['disabled', 'basic', 'extended', 'all'].includes(level)) throw new Error(`DGP_ORT_OPT_LEVEL must be disabled, basic, extended or all, got "${level}"`);
  return {
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: level,
    extra: { session: { intra_op: { allow_spinning: spin ? '1' : '0' } } },
  };
}

interface Entry {
  traced: Traced;
  session: Promise<ort.InferenceSession>;
  inNames: string[];
  outNames: string[];
}

/** A compiled function: one ONNX session per distinct list of input shapes, built on first use. */
export class Compiled {
  private readonly cache = new Map<string, Entry>();

  constructor(
    private readonly fn: TracedFn,
    private readonly options: CompileOptions = {},
  ) {}

  get name(): string {
    return this.options.name ?? (this.fn.name || 'anonymous');
  }

  /** The trace for these input shapes (cached), e.g. to inspect the graph size. */
  traced(shapes: Shape[]): Traced {
    return this.entry(shapes).traced;
  }

  /**
   * Runs on these inputs (read in place, never copied). `into[k]`, when given, is a buffer of
   * output k's size that onnxruntime writes output k into (returned as that same array): a
   * training loop can alternate two parameter buffers instead of receiving fresh ones each call.
   * It must not be one of the inputs.
   */
  async run(inputs: Input[], into?: readonly (Float32Array | undefined)[]): Promise<Float32Array[]> {
    const e = this.entry(inputs.map((x) => x.shape));
    const session = await e.session;
    const feeds: Record<string, ort.Tensor> = {};
    inputs.forEach((x, i) => {
      if (x.data.length !== e.traced.inputs[i]!.size) throw new Error(`${this.name}: input ${i} has ${x.data.length} values for shape [${x.shape}]`);
      feeds[e.inNames[i]!] = new ort.Tensor('float32', x.data, x.shape as number[]);
    });
    if (!into) {
      const res = await session.run(feeds);
      return e.outNames.map((n) => res[n]!.data as Float32Array);
    }
    const fetches: Record<string, ort.Tensor | null> = {};
    e.outNames.forEach((n, k) => {
      const buf = into[k];
      const out = e.traced.outputs[k]!;
      if (buf && buf.length !== out.size) throw new Error(`${this.name}: output buffer ${k} has ${buf.length} values for shape [${out.shape}]`);
      if (buf && inputs.some((x) => x.data.buffer === buf.buffer)) throw new Error(`${this.name}: output buffer ${k} shares memory with an input`);
      fetches[n] = buf ? new ort.Tensor('float32', buf, out.shape) : null;
    });
    const res = await session.run(feeds, fetches as ort.InferenceSession.FetchesType);
    return e.outNames.map((n, k) => into[k] ?? (res[n]!.data as Float32Array));
  }

  /** The float64 reference evaluation of the same trace (slow; for tests). */
  eval64(inputs: { data: ArrayLike<number>; shape: Shape }[]): Float64Array[] {
    const { traced } = this.entry(inputs.map((x) => x.shape), false);
    return interpret(traced.graph, traced.inputs, inputs.map((x) => x.data), traced.outputs);
  }

  private entry(shapes: Shape[], withSession = true): Entry {
    const key = shapes.map((s) => s.join('x')).join('|');
    let e = this.cache.get(key);
    if (!e) {
      const traced = trace(this.fn, shapes);
      e = {
        traced,
        session: withSession ? this.createSession(traced) : (undefined as unknown as Promise<ort.InferenceSession>),
        inNames: traced.inputs.map((_, i) => `in${i}`),
        outNames: traced.outputs.map((_, i) => `out${i}`),
      };
      this.cache.set(key, e);
    } else if (withSession && !e.session) {
      e.session = this.createSession(e.traced);
    }
    return e;
  }

  private createSession(t: Traced): Promise<ort.InferenceSession> {
    const bytes = lowerToOnnx(t.graph, t.inputs, t.outputs);
    return ort.InferenceSession.create(bytes, sessionOptions(this.options)).catch((err: Error) => {
      throw new Error(`${this.name}: onnxruntime rejected the lowered graph: ${err.message}`);
    });
  }
}

export function compile(fn: TracedFn, options?: CompileOptions): Compiled {
  return new Compiled(fn, options);
}
