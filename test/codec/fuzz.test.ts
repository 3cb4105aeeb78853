// Seeded fuzzing of the wire decoder: valid messages of every form (dense, sparse with bitmap
// and gap-coded positions, float16, quantiser levels, shared positions, position-only messages,
// rank-0 and empty tensors, names Object.prototype holds) are mutated, and every mutant is decoded
// under rotating option combinations. Each decode must either throw the codec's own
// WireFormatError or return an update that passes an independent validity check.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { type DecodeOptions, decodePositions, decodeUpdate, WireFormatError } from '../../src/codec/index.js';
import { Rng } from '../../src/common/rng.js';
import { mutate, MUTATION_NAMES, type MutationName } from '../helpers/mutate.js';
import { codecCorpus, invalidity, optionCombinations } from './fuzz-corpus.js';

const MUTANTS = 50_000;
/** Option combinations each mutant is decoded under (rotating through all of them). */
const PER_MUTANT = 8;

interface Failure {
  mutant: number;
  specimen: string;
  mutations: MutationName[];
  options: string;
  problem: string;
}

function describeOptions(o: DecodeOptions): string {
  return JSON.stringify({ ...o, layout: o.layout?.map((t) => t.name), shared: o.shared && Object.keys(o.shared) });
}

test(`fuzz: ${MUTANTS} seeded mutants of valid messages decode to a valid update or a WireFormatError`, (t) => {
  const corpus = codecCorpus();
  const combos = corpus.map((s) => optionCombinations(s, corpus));
  const rng = new Rng(20240214);
  const failures: Failure[] = [];
  const kinds = new Map<string, number>();
  const used = new Map<MutationName, number>();
  const comboUse = combos.map((c) => new Uint32Array(c.length));
  let accepted = 0;
  let decodes = 0;
  const errors = new Set<string>();
  for (let i = 0; i < MUTANTS; i++) {
    const si = i % corpus.length;
    const s = corpus[si]!;
    const mutations: MutationName[] = [];
    const bytes = mutate(rng, s, corpus, mutations);
    for (const m of mutations) used.set(m, (used.get(m) ?? 0) + 1);
    const tries: { options: DecodeOptions; positions: boolean }[] = [];
    for (let j = 0; j < PER_MUTANT; j++) {
      const c = (Math.floor(i / corpus.length) * PER_MUTANT + j) % combos[si]!.length;
      comboUse[si]![c]!++;
      tries.push({ options: combos[si]![c]!, positions: s.kind === 'positions' });
    }
    // The other decoder too: a positions message is no update, and the reverse.
    tries.push({ options: {}, positions: s.kind !== 'positions' });
    for (const { options, positions } of tries) {
      decodes++;
      let problem: string | null;
      try {
        const m = positions ? decodePositions(bytes, options) : (({ header, update }) => ({ header, tensors: update }))(decodeUpdate(bytes, options));
        problem = invalidity(m, bytes, options, positions);
        if (problem === null) accepted++;
      } catch (e) {
        problem = e instanceof WireFormatError ? null : `threw ${(e as Error).name}: ${(e as Error).message}`;
        if (e instanceof WireFormatError) errors.add((e as Error).message.replace(/\d+/g, 'N').replace(/"[^"]*"/g, 'S'));
      }
      if (problem === null) continue;
      const kind = problem.replace(/\d+(\.\d+)?(e[+-]?\d+)?/g, 'N').replace(/"[^"]*"/g, 'S');
      kinds.set(kind, (kinds.get(kind) ?? 0) + 1);
      if (failures.length < 10) failures.push({ mutant: i, specimen: s.label, mutations, options: describeOptions(options), problem });
    }
  }
  const summary = [...kinds].map(([k, n]) => `${n} x ${k}`).join('; ');
  assert.deepEqual(failures, [], `invalid outcomes: ${summary}; first: ${JSON.stringify(failures[0])}`);
  // The run exercised what it claims: every operator, every option combination, real successes
  // and a wide range of the decoder's refusals.
  for (const m of MUTATION_NAMES) assert.ok((used.get(m) ?? 0) > 1000, `mutation ${m} used ${used.get(m) ?? 0} times`);
  for (const [si, use] of comboUse.entries()) assert.ok(use.every((n) => n >= 40), `${corpus[si]!.label}: an option combination ran only ${Math.min(...use)} times`);
  t.diagnostic(`${decodes} decodes: ${accepted} accepted, the rest refused with ${errors.size} distinct messages`);
  assert.ok(decodes >= MUTANTS * PER_MUTANT);
  assert.ok(accepted > decodes * 0.01, `only ${accepted} of ${decodes} decodes succeeded: the mutants are too broken to test the checks`);
  assert.ok(errors.size > 40, `only ${errors.size} distinct refusals`);
});
