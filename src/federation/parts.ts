// The parts a run's spec names: built-in ones by name, or the user's own objects where it says
// 'custom' (Flower's way: objects in, the toolkit's source untouched). The spec stays plain data;
// what it records of an object is its name (spec.custom), so a checkpoint says which objects made
// it, and a run resumed from it must be given objects of the same names again.
import { ADGP, adgpClient, createDefense, type AdgpClient, type Defense } from '../defenses/index.js';
import { createModel, type Model } from '../models/index.js';
import { CUSTOM, type FederatedSpec, lrSchedule, parseSpec } from './spec.js';
import { createStrategy, type Strategy } from './strategy.js';

/** A user's own objects, for the parts the spec names 'custom'. */
export interface RunObjects {
  /** Written against the Model interface (dgp-toolkit/models): parameter specs and a forward function over the core's symbolic tensors. */
  model?: Model;
  /** init/apply (dgp-toolkit/defenses). One object serves every client: per-client state lives in what init returns, never in the object. */
  defense?: Defense;
  /** configureFit/aggregateFit (Strategy, this folder). */
  strategy?: Strategy;
}

export interface RunParts {
  /** The spec as the run records it: `custom` holds the names of the user's objects. */
  spec: FederatedSpec;
  /** The run's model for images of `shape` (a built-in one adapts to it; a user's must take it). */
  model(shape: readonly [number, number, number]): Model;
  /** A new client's defense (ADGP: its client side). */
  defense(): Defense | AdgpClient;
  strategy: Strategy;
}

type Part = keyof RunObjects;

const FIELD: Record<Part, string> = { model: 'model.name', defense: 'defense.name', strategy: 'algorithm' };
const METHODS: Record<Part, string[]> = { model: ['forward'], defense: ['init', 'apply'], strategy: ['configureFit', 'aggregateFit', 'serverLr'] };

/** The spec checked against the objects given (each 'custom' part has one, and only those). Throws one line naming the part. */
export function runParts(input: FederatedSpec, objects: RunObjects = {}): RunParts {
  const spec = parseSpec(input);
  const named: Record<Part, string> = { model: spec.model.name, defense: spec.defense.name, strategy: spec.algorithm };
  const custom: Partial<Record<Part, string>> = {};
  for (const part of Object.keys(FIELD) as Part[]) {
    const object = objects[part];
    const recorded = spec.custom?.[part];
    if (named[part] !== CUSTOM) {
      if (object) throw new Error(`federated run: options.${part} is given, but the spec's ${FIELD[part]} is '${named[part]}'; set it to '${CUSTOM}' to run your own ${part}`);
      if (recorded !== undefined) throw new Error(`federated run: the spec records custom.${part} '${recorded}', but its ${FIELD[part]} is '${named[part]}', not '${CUSTOM}'`);
      continue;
    }
    if (!object) {
      const which = recorded !== undefined ? ` ('${recorded}')` : '';
      throw new Error(`federated run: the spec's ${FIELD[part]} is '${CUSTOM}': pass your ${part}${which} as options.${part}`);
    }
    checkShape(part, object);
    if (recorded !== undefined && recorded !== object.name) {
      throw new Error(`federated run: the spec records custom.${part} '${recorded}', but options.${part} is named '${object.name}'`);
    }
    custom[part] = object.name;
  }
  const { custom: _given, ...plain } = spec;
  const recorded: FederatedSpec = Object.keys(custom).length > 0 ? { ...plain, custom } : plain;
  const m = spec.model;
  return {
    spec: recorded,
    model: (shape) => {
      if (m.name !== CUSTOM) return createModel(m.name, { inputShape: [...shape], width: m.width, init: m.init, precode: m.precode });
      const own = objects.model!;
      if (own.inputShape.join('x') !== shape.join('x')) {
        throw new Error(`federated run: options.model '${own.name}' takes ${own.inputShape.join('x')} images; the data holds ${shape.join('x')}`);
      }
      return own;
    },
    defense: () => {
      const { name, options } = spec.defense;
      if (name === CUSTOM) return objects.defense!;
      return name === ADGP ? adgpClient(options) : createDefense(name, options);
    },
    strategy: spec.algorithm === CUSTOM ? objects.strategy! : createStrategy({ ...spec, algorithm: spec.algorithm, lrAt: lrSchedule(spec) }),
  };
}

/** A clear line for an object that is not what its part needs (it came from code the toolkit did not write). */
function checkShape(part: Part, object: object): void {
  const o = object as Record<string, unknown>;
  if (typeof o['name'] !== 'string' || o['name'] === '') throw new Error(`federated run: options.${part} needs a name (a non-empty string), recorded in the run's spec`);
  const missing = METHODS[part].filter((k) => typeof o[k] !== 'function');
  if (missing.length > 0) throw new Error(`federated run: options.${part} '${o['name']}' is not a ${part}: it lacks ${missing.join(', ')}`);
  if (part === 'model' && !(Array.isArray(o['params']) && Array.isArray(o['buffers']) && Array.isArray(o['inputShape']))) {
    throw new Error(`federated run: options.model '${o['name']}' is not a model: it needs params, buffers and inputShape`);
  }
}
