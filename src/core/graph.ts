// The traced graph. Model and attack code calls the op functions on `Sym` values while a trace is
// active; every call records one node. Reverse-mode differentiation appends more nodes to the same
// graph, which is why a gradient can itself be differentiated (gradient of a gradient).

export type Shape = readonly number[];

/** An ONNX-building context, implemented in onnx.ts; primitives only see this small surface. */
export interface LoweringContext {
  /** Adds a node and returns the name of its (first) output. */
  node(op: string, inputs: string[], attrs?: Record<string, number | number[] | string>, nOutputs?: number): string;
  /** An int64 constant (shapes, axes, pads), deduplicated. */
  int64(values: number[]): string;
  /** A float scalar constant, deduplicated. */
  float(value: number): string;
  /** A float32 constant tensor (e.g. the one-hot kernel of an im2col). */
  floatTensor(values: Float32Array, dims: readonly number[]): string;
}

/** One primitive operation: its shape rule, its float64 reference implementation, its ONNX lowering
 *  and its vector-Jacobian product written in primitives (so it can be differentiated again). */
export interface Primitive<A = unknown> {
  readonly name: string;
  shape(inputs: Shape[], attrs: A): number[];
  eval(inputs: Float64Array[], inShapes: Shape[], attrs: A, outShape: Shape): Float64Array;
  lower(ctx: LoweringContext, inputs: string[], attrs: A, inShapes: Shape[], outShape: Shape): string;
  /** Cotangents for each input given the output cotangent `g`; null means zero. */
  vjp(g: Sym, node: OpNode<A>): (Sym | null)[];
}

export interface OpNode<A = unknown> {
  prim: Primitive<A>;
  inputs: Sym[];
  attrs: A;
  out: Sym;
}

export type SymKind = 'input' | 'const' | 'op';

/** A symbolic tensor inside a trace. */
export class Sym {
  constructor(
    readonly graph: Graph,
    readonly id: number,
    readonly shape: number[],
    readonly kind: SymKind,
    readonly node: OpNode | null,
  ) {}

  get size(): number {
    let n = 1;
    for (const d of this.shape) n *= d;
    return n;
  }

  get rank(): number {
    return this.shape.length;
  }

  toString(): string {
    return `Sym#${this.id}[${this.shape.join(',')}]${this.node ? ' ' + this.node.prim.name : ' ' + this.kind}`;
  }
}

export class Graph {
  readonly syms: Sym[] = [];
  readonly inputs: Sym[] = [];
  readonly constValues = new Map<number, Float64Array>();
  private readonly memo = new Map<string, Sym>();
  private readonly scalarConsts = new Map<number, Sym>();

  input(shape: Shape): Sym {
    const s = new Sym(this, this.syms.length, [...shape], 'input', null);
    this.syms.push(s);
    this.inputs.push(s);
    return s;
  }

  constant(values: Float64Array | number[] | Float32Array, shape: Shape): Sym {
    const data = Float64Array.from(values);
    if (data.length !== sizeOf(shape)) throw new Error(`constant: ${data.length} values for shape [${shape}]`);
    if (shape.length === 0) {
      const hit = this.scalarConsts.get(data[0]!);
      if (hit) return hit;
    }
    const s = new Sym(this, this.syms.length, [...shape], 'const', null);
    this.syms.push(s);
    this.constValues.set(s.id, data);
    if (shape.length === 0) this.scalarConsts.set(data[0]!, s);
    return s;
  }

  /** Records a primitive application; identical applications are shared (hash-consing), which
   *  keeps the recomputations in differentiation rules from growing the graph. */
  apply<A>(prim: Primitive<A>, inputs: Sym[], attrs: A): Sym {
    for (const x of inputs) {
      if (x.graph !== this) throw new Error(`${prim.name}: input ${x} belongs to another trace`);
    }
    // Attributes are frozen copies: a caller reusing its array must not rewrite a recorded node.
    attrs = attrs === null || attrs === undefined ? attrs : (structuredClone(attrs) as A);
    inputs = [...inputs];
    const key = `${prim.name}|${inputs.map((x) => x.id).join(',')}|${JSON.stringify(attrs)}`;
    const hit = this.memo.get(key);
    if (hit) return hit;
    let shape: number[];
    try {
      shape = prim.shape(inputs.map((x) => x.shape), attrs);
    } catch (e) {
      throw new Error(`${prim.name}: ${(e as Error).message} (inputs ${inputs.map((x) => `[${x.shape}]`).join(', ')})`);
    }
    const node: OpNode<A> = { prim, inputs, attrs, out: undefined as unknown as Sym };
    const s = new Sym(this, this.syms.length, shape, 'op', node as OpNode);
    node.out = s;
    this.syms.push(s);
    this.memo.set(key, s);
    return s;
  }

  constValue(s: Sym): Float64Array | undefined {
    return this.constValues.get(s.id);
  }
}

export function sizeOf(shape: Shape): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export function stridesOf(shape: Shape): number[] {
  const st = new Array<number>(shape.length);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    st[i] = s;
    s *= shape[i]!;
  }
  return st;
}

/** Visits every index of `shape` in row-major order with the flat offset under `strides`. */
export function walk(shape: Shape, visit: (k: number, off: number) => void, strides: number[]): void {
  const r = shape.length;
  const n = sizeOf(shape);
  const c = new Array<number>(r).fill(0);
  let off = 0;
  for (let k = 0; k < n; k++) {
    visit(k, off);
    for (let d = r - 1; d >= 0; d--) {
      c[d]!++;
      off += strides[d]!;
      if (c[d]! < shape[d]!) break;
      off -= strides[d]! * c[d]!;
      c[d] = 0;
    }
  }
}

/** Nodes needed to compute `outputs`, in topological (creation) order. */
export function reachable(graph: Graph, outputs: Sym[]): Sym[] {
  const need = new Uint8Array(graph.syms.length);
  const stack = [...outputs];
  while (stack.length) {
    const s = stack.pop()!;
    if (need[s.id]) continue;
    need[s.id] = 1;
    if (s.node) for (const x of s.node.inputs) stack.push(x);
  }
  return graph.syms.filter((s) => need[s.id]);
}
