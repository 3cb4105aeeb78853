// Lowers a traced graph to an ONNX model (opset 17). Weights and data are graph inputs, not
// initializers, so one compiled session serves every set of parameters.
import onnxProto from 'onnx-proto';
import { type Graph, type LoweringContext, Sym, reachable } from './graph.js';

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
  for (const s of reachable(graph, outputs)) {
    if (names.has(s.id)) continue;
    if (s.kind === 'input') throw new Error(`lowerToOnnx: ${s} is an input of the trace but not of the function`);
    if (s.kind === 'const') {
      names.set(s.id, b.floatTensor(Float32Array.from(graph.constValue(s)!), s.shape));
      continue;
    }
    const node = s.node!;
    const ins = node.inputs.map((u) => names.get(u.id)!);
    names.set(s.id, node.prim.lower(b, ins, node.attrs, node.inputs.map((u) => u.shape), s.shape));
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
