// Lowers a traced graph to an ONNX model (opset 17). Weights and data are graph inputs, not
// initializers, so one compiled session serves every set of parameters.
import onnxProto from 'onnx-proto';
import { type Graph, type LoweringContext, Sym, reachable } from './graph.js';
import { broadcastShapes, sameShape } from './ops/broadcast.js';

const { onnx } = onnxProto;
const OPSET = 17;

class Builder implements LoweringContext {
  readonly nodes: InstanceType<typeof onnx.NodeProto>[] = [];
  readonly initializers: InstanceType<typeof onnx.TensorProto>[] = [];
  private count = 0;
  private readonly consts = new Map<string, string>();

  fresh(prefix: string): string {
    return `${prefix}${this.count++}`;
  }

  node(op: string, inputs: string[], attrs: Record<string, number | number[] | string> = {}, nOutputs = 1): string {
    const outs = Array.from({ length: nOutputs }, () => this.fresh('t'));
    const attribute = Object.entries(attrs).map(([name, v]) => attributeProto(name, v));
    this.nodes.push(onnx.NodeProto.create({ opType: op, input: inputs, output: outs, attribute, name: outs[0] }));
    return outs[0]!;
  }

  int64(values: number[]): string {
    const key = `i64:${values.join(',')}`;
    const hit = this.consts.get(key);
    if (hit) return hit;
    const name = this.fresh('c');
    // Plain typed arrays rather than Buffer, so the lowering runs in a browser too.
    const buf = new Uint8Array(new BigInt64Array(values.map((v) => BigInt(v))).buffer);
    this.initializers.push(onnx.TensorProto.create({ name, dims: [values.length], dataType: onnx.TensorProto.DataType.INT64, rawData: buf }));
    this.consts.set(key, name);
    return name;
  }

  float(value: number): string {
    return this.floatTensor(Float32Array.of(value), []);
  }

  floatTensor(values: Float32Array, dims: readonly number[]): string {
    const key = dims.length === 0 ? `f32:${values[0]}` : undefined;
    if (key && this.consts.has(key)) return this.consts.get(key)!;
    const name = this.fresh('c');
    const rawData = new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
    this.initializers.push(onnx.TensorProto.create({ name, dims: [...dims], dataType: onnx.TensorProto.DataType.FLOAT, rawData }));
    if (key) this.consts.set(key, name);
    return name;
  }
}

function attributeProto(name: string, v: number | number[] | string) {
  const T = onnx.AttributeProto.AttributeType;
  if (typeof v === 'string') return onnx.AttributeProto.create({ name, type: T.STRING, s: new TextEncoder().encode(v) });
  if (Array.isArray(v)) return onnx.AttributeProto.create({ name, type: T.INTS, ints: v });
  if (Number.isInteger(v)) return onnx.AttributeProto.create({ name, type: T.INT, i: v });
  return onnx.AttributeProto.create({ name, type: T.FLOAT, f: v });
}

function valueInfo(name: string, shape: readonly number[]) {
  return onnx.ValueInfoProto.create({
    name,
    type: {
      tensorType: {
        elemType: onnx.TensorProto.DataType.FLOAT,
        shape: { dim: shape.map((d) => ({ dimValue: d })) },
      },
    },
  });
}

/** Serialised ONNX model computing `outputs` from `inputs` (input names in0.., outputs out0..). */
export function lowerToOnnx(graph: Graph, inputs: Sym[], outputs: Sym[]): Uint8Array {
  const b = new Builder();
  const names = new Map<number, string>();
  inputs.forEach((s, i) => names.set(s.id, `in${i}`));
  const order = reachable(graph, outputs);
  const inputsOf = elideBroadcasts(order);
  const needed = neededSyms(order, inputsOf, outputs);
  for (const s of order) {
    if (names.has(s.id) || !needed.has(s.id)) continue;
    if (s.kind === 'input') throw new Error(`lowerToOnnx: ${s} is an input of the trace but not of the function`);
    if (s.kind === 'const') {
      names.set(s.id, b.floatTensor(Float32Array.from(graph.constValue(s)!), s.shape));
      continue;
    }
    const node = s.node!;
    const ins = inputsOf.get(s.id)!;
    names.set(s.id, node.prim.lower(b, ins.map((u) => names.get(u.id)!), node.attrs, ins.map((u) => u.shape), s.shape));
  }
  // ONNX outputs need their own names; an output may also be an input or appear twice.
  const outNames = outputs.map((s, i) => {
    const name = `out${i}`;
    b.nodes.push(onnx.NodeProto.create({ opType: 'Identity', input: [names.get(s.id)!], output: [name], name }));
    return name;
  });
  const model = onnx.ModelProto.create({
    irVersion: 8,
    producerName: 'dgp-toolkit',
    opsetImport: [{ domain: '', version: OPSET }],
    graph: {
      name: 'traced',
      node: b.nodes,
      initializer: b.initializers,
      input: inputs.map((s, i) => valueInfo(`in${i}`, s.shape)),
      output: outputs.map((s, i) => valueInfo(outNames[i]!, s.shape)),
    },
  });
  return onnx.ModelProto.encode(model).finish();
}

/** Primitives lowered to ONNX operators that broadcast their inputs numpy-style. */
const BROADCASTING = new Set(['add', 'sub', 'mul', 'div', 'maximum', 'eq', 'where']);

/**
 * The ONNX inputs of each op node: its own, except that an elementwise operator reads the source
 * of a broadcastTo operand directly when broadcasting it gives the same output shape (ONNX's
 * operators broadcast by themselves, so the Expand would only write a full-size copy).
 */
function elideBroadcasts(order: Sym[]): Map<number, Sym[]> {
  const out = new Map<number, Sym[]>();
  for (const s of order) {
    if (!s.node) continue;
    let ins = s.node.inputs;
    if (BROADCASTING.has(s.node.prim.name)) {
      ins = ins.map((u, k) => {
        const src = u.node?.prim.name === 'broadcastTo' ? u.node.inputs[0]! : undefined;
        if (!src) return u;
        const shapes = s.node!.inputs.map((v, j) => (j === k ? src.shape : v.shape));
        return sameShape(shapes.reduce<number[]>((a, b) => broadcastShapes(a, b), []), s.shape) ? src : u;
      });
    }
    out.set(s.id, ins);
  }
  return out;
}

/** Syms the ONNX graph needs (through the possibly elided inputs) to compute the outputs. */
function neededSyms(order: Sym[], inputsOf: Map<number, Sym[]>, outputs: Sym[]): Set<number> {
  const needed = new Set<number>(outputs.map((o) => o.id));
  for (let i = order.length - 1; i >= 0; i--) {
    const s = order[i]!;
    if (needed.has(s.id)) for (const u of inputsOf.get(s.id) ?? []) needed.add(u.id);
  }
  return needed;
}
