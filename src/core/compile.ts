// Turns a function over symbolic tensors into something that runs: traced once per set of input
// shapes, lowered to ONNX, and executed by the engine (engine.ts: onnxruntime-node, or -web in a
// browser) from a cached session. A Compiled keeps the sessions of its most recently used shapes
// and releases the others, and all of them when it is released or collected.
import { currentEngine, type EngineSession } from './engine.js';
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
}

interface Entry {
  traced: Traced;
  session: Promise<EngineSession> | null;
  inNames: string[];
  outNames: string[];
}

/** Sessions kept per compiled function: batch sizes and a last short batch, say. */
const KEEP_SESSIONS = 8;

function releaseAll(sessions: Set<Promise<EngineSession>>): void {
  for (const s of sessions) void s.then((x) => x.release()).catch(() => {});
  sessions.clear();
}

/** Releases a collected Compiled's sessions (native memory the garbage collector does not see). */
const collected = new FinalizationRegistry<Set<Promise<EngineSession>>>(releaseAll);

/** A compiled function: one ONNX session per distinct list of input shapes, built on first use. */
export class Compiled {
  private readonly cache = new Map<string, Entry>();
  private readonly sessions = new Set<Promise<EngineSession>>();

  constructor(
    private readonly fn: TracedFn,
    private readonly options: CompileOptions = {},
  ) {
    collected.register(this, this.sessions, this);
  }

  /** Releases every session now (they are made again if the function runs again). */
  release(): void {
    for (const e of this.cache.values()) e.session = null;
    releaseAll(this.sessions);
  }

  get name(): string {
    return this.options.name ?? (this.fn.name || 'anonymous');
  }

  /** The trace for these input shapes (cached), e.g. to inspect the graph size. */
  traced(shapes: Shape[]): Traced {
    return this.entry(shapes).traced;
  }

  async run(inputs: Input[]): Promise<Float32Array[]> {
    const e = this.entry(inputs.map((x) => x.shape));
    const session = await e.session!;
    const feeds: Record<string, { data: Float32Array; shape: Shape }> = {};
    inputs.forEach((x, i) => {
      if (x.data.length !== e.traced.inputs[i]!.size) throw new Error(`${this.name}: input ${i} has ${x.data.length} values for shape [${x.shape}]`);
      feeds[e.inNames[i]!] = x;
    });
    return session.run(feeds, e.outNames);
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
      e = { traced, session: null, inNames: traced.inputs.map((_, i) => `in${i}`), outNames: traced.outputs.map((_, i) => `out${i}`) };
    }
    // Most recently used last; beyond KEEP_SESSIONS the least recent entry gives its session back.
    this.cache.delete(key);
    this.cache.set(key, e);
    if (withSession && !e.session) {
      e.session = this.createSession(e.traced);
      this.sessions.add(e.session);
      const live = [...this.cache.values()].filter((x) => x.session);
      for (const old of live.slice(0, Math.max(0, live.length - KEEP_SESSIONS))) {
        const s = old.session!;
        old.session = null;
        this.sessions.delete(s);
        void s.then((x) => x.release()).catch(() => {});
      }
    }
    return e;
  }

  private async createSession(t: Traced): Promise<EngineSession> {
    const bytes = lowerToOnnx(t.graph, t.inputs, t.outputs);
    const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env;
    const threads = this.options.threads ?? (Number(env?.DGP_THREADS) || 2);
    const engine = await currentEngine();
    return engine.createSession(bytes, { threads }).catch((err: Error) => {
      throw new Error(`${this.name}: ${engine.name} rejected the lowered graph: ${err.message}`);
    });
  }
}

export function compile(fn: TracedFn, options?: CompileOptions): Compiled {
  return new Compiled(fn, options);
}
