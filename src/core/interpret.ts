// A float64 interpreter of traced graphs: the reference against which the ONNX lowering is checked
// and with which finite-difference tests run in double precision.
import { type Graph, Sym, reachable } from './graph.js';

export function interpret(graph: Graph, inputs: Sym[], values: ArrayLike<number>[], outputs: Sym[]): Float64Array[] {
  const env = new Map<number, Float64Array>();
  inputs.forEach((s, i) => {
    const v = values[i]!;
    if (v.length !== s.size) throw new Error(`input ${i}: ${v.length} values for shape [${s.shape}]`);
    env.set(s.id, Float64Array.from(v));
  });
  for (const s of reachable(graph, outputs)) {
    if (env.has(s.id)) continue;
    if (s.kind === 'const') env.set(s.id, graph.constValue(s)!);
    else if (s.kind === 'input') throw new Error(`input ${s} was not given a value`);
    else {
      const node = s.node!;
      const ins = node.inputs.map((u) => env.get(u.id)!);
      env.set(s.id, node.prim.eval(ins, node.inputs.map((u) => u.shape), node.attrs, s.shape));
    }
  }
  return outputs.map((o) => env.get(o.id)!);
}
