// Turns a function over symbolic tensors into something that runs: traced once per set of input
// shapes, lowered to ONNX, and executed by the engine (engine.ts: onnxruntime-node, or -web in a
// browser) from a cached session. A Compiled keeps the sessions of its most recently used shapes
// and releases the others, and all of them when it is released or collected.
import { currentEngine, type EngineSession, type SessionSettings } from './engine.js';
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
  /** Whether idle worker threads spin instead of sleeping; default from DGP_ORT_SPIN (1 or 0), else off (see SessionSettings). */
  spin?: boolean;
  /** onnxruntime's graph optimisation level; default from DGP_ORT_OPT_LEVEL, else 'all' ('extended' gives the same optimised graphs here). */
  optimizationLevel?: SessionSettings['level'];
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

  /**
   * Runs on these inputs (read in place, never copied). `into[k]`, when given, is a buffer of
   * output k's size that output k is written into (and returned as that same array): a training
   * loop can alternate two parameter buffers instead of receiving fresh ones each call. It must not
   * be one of the inputs.
   */
  async run(inputs: Input[], into?: readonly (Float32Array | undefined)[]): Promise<Float32Array[]> {
    const e = this.entry(inputs.map((x) => x.shape));
    const session = await e.session!;
    const feeds: Record<string, { data: Float32Array; shape: Shape }> = {};
    inputs.forEach((x, i) => {
      if (x.data.length !== e.traced.inputs[i]!.size) throw new Error(`${this.name}: input ${i} has ${x.data.length} values for shape [${x.shape}]`);
      feeds[e.inNames[i]!] = x;
    });
    if (!into) return session.run(feeds, e.outNames);
    const outs = e.outNames.map((_, k) => {
      const buf = into[k];
      const out = e.traced.outputs[k]!;
      if (!buf) return undefined;
      if (buf.length !== out.size) throw new Error(`${this.name}: output buffer ${k} has ${buf.length} values for shape [${out.shape}]`);
      if (inputs.some((x) => x.data.buffer === buf.buffer)) throw new Error(`${this.name}: output buffer ${k} shares memory with an input`);
      return { data: buf, shape: out.shape };
    });
    return session.run(feeds, e.outNames, outs);
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
    const engine = await currentEngine();
    return engine.createSession(bytes, sessionSettings(this.options)).catch((err: Error) => {
      throw new Error(`${this.name}: ${engine.name} rejected the lowered graph: ${err.message}`);
    });
  }
}

export function compile(fn: TracedFn, options?: CompileOptions): Compiled {
  return new Compiled(fn, options);
}

/** The session settings a compiled function runs with: its options, else DGP_THREADS (2), DGP_ORT_SPIN (0: idle threads sleep), DGP_ORT_OPT_LEVEL ('all'). */
export function sessionSettings(o: CompileOptions = {}): SessionSettings {
  const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env;
  const level = o.optimizationLevel ?? (env?.DGP_ORT_OPT_LEVEL as SessionSettings['level'] | undefined) ?? 'all';
  if (!['disabled', 'basic', 'extended', 'all'].includes(level)) throw new Error(`DGP_ORT_OPT_LEVEL must be disabled, basic, extended or all, got "${level}"`);
  return { threads: o.threads ?? (Number(env?.DGP_THREADS) || 2), spin: o.spin ?? env?.DGP_ORT_SPIN === '1', level };
}
