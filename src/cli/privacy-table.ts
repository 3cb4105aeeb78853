// `dgp privacy-table`: the README's table. DLG (LeNet) and Inverting Gradients (ConvNet), each plain
// and mask-aware, and Robbing the Fed (a malicious server's analytic attack), against no defense, DGP, Top-k at DGP's density and DP noise at two levels, on
// the same images; mean PSNR, SSIM, CW-SSIM, label accuracy and relative gradient distance per
// row, a grid per row, and the exact setting written next to the numbers.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { modelAtRound, type ModelState, type ExperimentSummary, runExperiment, INVERTING_GRADIENTS, settingsFor } from '../attacks/index.js';
import { getBatch } from '../data/index.js';
import { isLpipsBackend, scoreReconstruction } from '../metrics/index.js';
import { loadPrior, type Model } from '../models/index.js';
import { markdownTable, privacyFigure, ProgressBar, writeLinePlot } from '../report/index.js';
import { type Command, int, nameList, num, numberList } from './args.js';
import { resultHead, withDefenseDefaults, writeResult } from './result.js';
import { effectiveDefenseOptions } from '../defenses/index.js';
import { DEFAULT_SECURE_CLIP } from '../federation/index.js';
import { attackedModel, commonOptions, lpipsFor, summaryLine, writeExperiment } from './attack.js';
import { dataOptions, dataShape, openDataset } from './data.js';
import { resumeFiles } from './resume-files.js';

/** The attack families a table can have rows of (each plain, and mask-aware where that differs). */
export const ATTACK_FAMILIES = ['dlg', 'ig', 'rtf', 'ggl'] as const;

/** The row groups a table can have (--defenses). */
export const DEFENSE_ROWS = ['none', 'dgp', 'topk', 'dp', 'precode', 'outpost', 'adgp', 'adgp-secure', 'none-secure'] as const;

/** The rows a table has unless --defenses says otherwise (PRECODE and Outpost on request). */
const DEFAULT_ROWS = 'none,dgp,topk,dp,adgp,adgp-secure,none-secure';

interface DefenseRow {
  key: (typeof DEFENSE_ROWS)[number];
  label: string;
  name: string;
  options: Record<string, unknown>;
  /** Sparse updates only: a mask-aware attack differs from the plain one. */
  sparse: boolean;
  /** ADGP: one round of this many clients, and what the server sees of it. */
  round?: { clients: number; view: 'client' | 'aggregate' };
  /** PRECODE changes the model instead of the update (its update is dense). */
  precode?: { k: number; beta: number };
  /** File name of the row's grid, JSON and finished cases, after the attack's name. */
  file: string;
}

function defenses(o: { pTop: number; pKeep: number; clip: number; noiseMultiplier: number[]; roundClients: number; defenses: readonly string[]; precodeK: number; precodeBeta: number }): DefenseRow[] {
  const pct = (v: number) => `${+(v * 100).toFixed(2)} %`;
  const adgp = { pTop: o.pTop, pKeep: o.pKeep };
  const n = o.roundClients;
  const rows: DefenseRow[] = [
    { key: 'none', file: 'none', label: 'none', name: 'none', options: {}, sparse: false },
    { key: 'dgp', file: 'dgp', label: `DGP (drop top ${pct(o.pTop)}, send ${pct(o.pKeep)})`, name: 'dgp', options: { pTop: o.pTop, pKeep: o.pKeep }, sparse: true },
    { key: 'topk', file: 'topk', label: `Top-k ${pct(o.pKeep)}`, name: 'topk', options: { fraction: o.pKeep }, sparse: true },
    ...o.noiseMultiplier.map((z) => {
      const sigma = +(z * o.clip).toPrecision(3);
      return { key: 'dp' as const, file: `dp-sigma${sigma}`, label: `DP σ ${sigma} (clip ${o.clip})`, name: 'dp', options: { clip: o.clip, noiseMultiplier: z }, sparse: false };
    }),
    { key: 'precode', file: 'precode', label: `PRECODE (K ${o.precodeK}, β ${o.precodeBeta})`, name: 'none', options: {}, sparse: false, precode: { k: o.precodeK, beta: o.precodeBeta } },
    // Outpost's perturbed updates are sparse (pruned entries without noise are not sent).
    { key: 'outpost', file: 'outpost', label: 'Outpost (prune < 80th pct, φ 40 %, noise 0.8)', name: 'outpost', options: {}, sparse: true },
    { key: 'adgp', file: 'adgp-client', label: `ADGP, each of ${n} clients' uploads`, name: 'adgp', options: adgp, sparse: true, round: { clients: n, view: 'client' } },
    { key: 'adgp-secure', file: 'adgp-aggregate', label: `ADGP + secure aggregation: the aggregate of ${n} clients`, name: 'adgp', options: adgp, sparse: true, round: { clients: n, view: 'aggregate' } },
    { key: 'none-secure', file: 'none-aggregate', label: `none + secure aggregation: the aggregate of ${n} clients`, name: 'none', options: {}, sparse: false, round: { clients: n, view: 'aggregate' } },
  ];
  return rows.filter((r) => o.defenses.includes(r.key));
}

const schema = z.object({
  out: z.string(),
  images: int().positive().default(8),
  batch: int().positive().default(1),
  round: int().min(0).default(0),
  seed: int().default(7),
  first: int().min(0).default(0),
  dlgIterations: int().positive().default(1000),
  igIterations: int().positive().default(500),
  igRestarts: int().positive().default(1),
  igModel: z.enum(['convnet-flat', 'convnet', 'resnet18']).default('convnet-flat'),
  igWidth: num().positive().default(1),
  gglModel: z.enum(['lenet', 'resnet18']).default('lenet'),
  igTv: num().min(0).optional(),
  batchNorm: z.enum(['eval', 'train']).default('eval'),
  precodeK: int().positive().default(256),
  precodeBeta: num().min(0).default(1e-3),
  snapshotEvery: int().positive().default(200),
  pTop: num().min(0).lt(1).default(0.05),
  pKeep: num().gt(0).max(1).default(0.2),
  clip: num().positive().default(100),
  noiseMultiplier: numberList().default('1e-4,1e-3'),
  attacks: nameList(ATTACK_FAMILIES).default('dlg,ig,rtf'),
  prior: z.string().optional(),
  gglIterations: int().positive().default(400),
  gglRestarts: int().positive().default(2),
  defenses: nameList(DEFENSE_ROWS).default(DEFAULT_ROWS),
  roundClients: int().min(2).max(255).default(10),
  ...dataShape,
  lpipsWeights: z.string().optional(),
}).superRefine((o, ctx) => {
  if (o.images % o.batch !== 0) ctx.addIssue({ code: 'custom', path: ['images'], message: `must be a multiple of --batch (${o.batch})` });
  // The refinement also runs when --attacks itself failed to parse (then not a list): leave that to its own message.
  if (Array.isArray(o.attacks) && o.attacks.includes('ggl') !== (o.prior !== undefined)) ctx.addIssue({ code: 'custom', path: ['prior'], message: o.prior === undefined ? 'is needed by the ggl rows: a CIFAR-10 prior made by dgp train-prior' : 'is for the ggl rows: add ggl to --attacks' });
});

type Options = z.infer<typeof schema>;

interface Row {
  attack: string;
  model: string;
  defense: string;
  summary?: ExperimentSummary;
  /** For a dense update the mask-aware attack is the plain one: not run again. */
  sameAs?: string;
}

const fmt = (v: number | undefined, d: number) => (v === undefined ? '–' : Number.isFinite(v) ? v.toFixed(d) : String(v));

/** With `withLpips`, an LPIPS column after CW-SSIM (only when weights were given). */
export function renderTable(rows: Row[], withLpips = false): string {
  const lp = (r: Row) => (withLpips ? [typeof r.summary?.lpips === 'number' ? fmt(r.summary.lpips, 3) : r.summary ? '–' : ''] : []);
  return markdownTable(
    ['attack', 'model', 'defense', 'PSNR (dB)', '≥ 30 dB', 'SSIM (Gaussian)', 'CW-SSIM', ...(withLpips ? ['LPIPS (alex)'] : []), 'label acc.', 'rel. grad. distance'],
    rows.map((r) =>
      r.summary
        ? [r.attack, r.model, r.defense, fmt(r.summary.psnr, 2), `${r.summary.recovered}/${r.summary.images}`, fmt(r.summary.ssim, 3), fmt(r.summary.cwSsim, 3), ...lp(r), fmt(r.summary.labelAccuracy, 2), fmt(r.summary.relGradDistance, 3)]
        : [r.attack, r.model, r.defense, `= ${r.sameAs}`, '', '', '', ...lp(r), '', ''],
    ),
  );
}

function igModelText(o: Options): string {
  const w = o.igWidth !== 1 ? ` of width ${o.igWidth}` : '';
  if (o.igModel === 'resnet18') return `the CIFAR ResNet-18${w}, batch norm in ${o.batchNorm === 'eval' ? 'evaluation mode on the running statistics the server sends' : 'training mode (batch statistics)'}`;
  return o.igModel === 'convnet' ? `ConvNet${w} (global average pooling)` : `ConvNet${w} with its last feature map flattened (convnet-flat)`;
}

/**
 * What decides a row's images: its attack, model and defense, the attack's budget, the data and
 * seed. Not the number of images (a table extended to more images reuses the finished ones) nor
 * the other rows.
 */
function rowKey(o: Options, p: { attack: string; model: Model; defense: DefenseRow; iterations: number; restarts: number; width: number; tv?: number }, data: string | null): string {
  return JSON.stringify({
    attack: p.attack, model: p.model.name, width: p.width, defense: p.defense.name, defenseOptions: effectiveDefenseOptions(p.defense.name, p.defense.options), precode: p.defense.precode ?? null,
    iterations: p.iterations, restarts: p.restarts, tv: p.tv ?? null, batchNorm: o.batchNorm, first: o.first, batch: o.batch, round: o.round, seed: o.seed, bins: 64,
    lpips: o.lpipsWeights ?? null, data, prior: p.attack.startsWith('ggl') ? (o.prior ?? null) : null,
  });
}

export const privacyTableCommand: Command<typeof schema> = {
  name: 'privacy-table',
  summary: 'DLG, Inverting Gradients (plain and mask-aware) and Robbing the Fed against none, DGP, Top-k and DP: the README table',
  usage: 'dgp privacy-table --out runs/privacy [--images 8 --dlg-iterations 1000 --ig-iterations 500]',
  options: {
    out: { type: 'string', description: 'output folder: table.md, table.json, psnr.svg and one grid per row' },
    images: { type: 'string', description: 'CIFAR-10 test images attacked per row', default: '8' },
    batch: { type: 'string', description: 'images per client update (the attacker knows the batch size; --images must be a multiple)', default: '1' },
    round: { type: 'string', description: 'training rounds of the attacked models (0: at initialisation)', default: '0' },
    seed: { type: 'string', description: 'seed of models, attack starts and DP noise (7: a LeNet that is confidently right on none of images 0-7, whose gradients would carry almost nothing)', default: '7' },
    first: { type: 'string', description: 'index of the first attacked test image', default: '0' },
    'dlg-iterations': { type: 'string', description: 'DLG L-BFGS iterations per image', default: '1000' },
    'ig-iterations': { type: 'string', description: 'Inverting Gradients Adam steps per restart', default: '500' },
    'ig-restarts': { type: 'string', description: 'Inverting Gradients restarts per image', default: '1' },
    'ig-model': {
      type: 'string',
      description: 'model Inverting Gradients attacks: convnet-flat (its last feature map flattened: undefended IG recovers the images) | convnet (global average pooling: undefended IG recovers only colours and coarse layout) | resnet18 (the CIFAR ResNet-18 of the paper)',
      default: 'convnet-flat',
    },
    'ggl-model': { type: 'string', description: 'model GGL attacks: lenet | resnet18 (the CIFAR ResNet-18, batch norm as --batch-norm)', default: 'lenet' },
    'ig-width': { type: 'string', description: 'channel multiplier of the Inverting Gradients model', default: '1' },
    'ig-tv': { type: 'string', description: "Inverting Gradients' total-variation weight (default: its own for the model, 1e-4 on the ConvNets, 1e-3 on ResNet-18)" },
    'batch-norm': { type: 'string', description: 'ResNet-18: eval = the server sends the running statistics and the client computes in evaluation mode (breaching\'s provide_public_buffers) | train = batch statistics', default: 'eval' },
    'precode-k': { type: 'string', description: 'PRECODE row: bottleneck width K', default: '256' },
    'precode-beta': { type: 'string', description: 'PRECODE row: weight of the KL term', default: '1e-3' },
    'snapshot-every': { type: 'string', description: 'Adam steps between snapshots of the image in progress; finished images are kept in DIR/<row>.cases, so a rerun of the same command resumes', default: '200' },
    'p-top': { type: 'string', description: 'DGP: fraction dropped from the top', default: '0.05' },
    'p-keep': { type: 'string', description: 'DGP: fraction sent (and Top-k\'s fraction)', default: '0.2' },
    clip: { type: 'string', description: 'DP: L2 clipping bound, as dgp train --clip (default above the attacked gradients\' norms, so only the noise acts)', default: '100' },
    'noise-multiplier': { type: 'string', description: 'DP: noise multipliers, one DP row each, as dgp train --noise-multiplier (std = multiplier x clip: 0.01 and 0.1 by default)', default: '1e-4,1e-3' },
    'dp-clip': { type: 'string', description: '', aliasOf: 'clip' },
    'dp-low': { type: 'string', description: '', removed: 'the DP rows\' noise multipliers are now one list, --noise-multiplier LOW,HIGH (default 1e-4,1e-3)' },
    'dp-high': { type: 'string', description: '', removed: 'the DP rows\' noise multipliers are now one list, --noise-multiplier LOW,HIGH (default 1e-4,1e-3)' },
    attacks: { type: 'string', description: `attack families, comma-separated: ${ATTACK_FAMILIES.join(', ')} (rtf: Robbing the Fed, analytic: no mask-aware twin, a malicious server; ggl: Generative Gradient Leakage on --ggl-model, needs --prior, its twin is ggl-adaptive)`, default: 'dlg,ig,rtf' },
    prior: { type: 'string', description: 'ggl rows: the generative prior (a CIFAR-10 prior from dgp train-prior)' },
    'ggl-iterations': { type: 'string', description: 'GGL: Adam steps on the latent per restart', default: '400' },
    'ggl-restarts': { type: 'string', description: 'GGL: restarts per image', default: '2' },
    defenses: {
      type: 'string',
      description: `row groups, comma-separated: ${DEFENSE_ROWS.join(', ')} (precode changes the model: a variational bottleneck, dense updates; outpost: Wang et al. 2023; adgp: one round of --round-clients clients, each client's upload attacked; adgp-secure: the same round under secure aggregation, its aggregate attacked; none-secure: the aggregate of the same clients' raw gradients; DLG and IG only)`,
      default: DEFAULT_ROWS,
    },
    'round-clients': { type: 'string', description: 'ADGP rows: clients in the attacked round (each holds --batch images: test images --first onwards)', default: '10' },
    ...dataOptions,
    'lpips-weights': commonOptions['lpips-weights']!,
  },
  schema,
  async run(o: Options) {
    const { data, source } = await openDataset('privacy-table', 'cifar10', o);
    const lpips = await lpipsFor(o.lpipsWeights);
    const families = [
      { key: 'dlg' as const, attack: 'dlg', model: 'lenet' as const, iterations: o.dlgIterations, restarts: 1 },
      { key: 'ig' as const, attack: 'ig', model: o.igModel, iterations: o.igIterations, restarts: o.igRestarts },
      { key: 'rtf' as const, attack: 'rtf', model: 'lenet' as const, iterations: 1, restarts: 1 },
      { key: 'ggl' as const, attack: 'ggl', model: o.gglModel, iterations: o.gglIterations, restarts: o.gglRestarts },
    ].filter((f) => o.attacks.includes(f.key));
    const prior = o.prior !== undefined ? loadPrior(o.prior) : undefined;
    const rows: Row[] = [];
    const plan: { attack: string; model: Model; state: ModelState; defense: DefenseRow; iterations: number; restarts: number; width: number; tv?: number }[] = [];
    for (const f of families) {
      const width = f.key === 'ig' ? o.igWidth : 1;
      const tv = f.key === 'ig' ? o.igTv : undefined;
      // One model (and its state at the round) per family, and one with PRECODE's bottleneck when a row asks for it.
      const states = new Map<string, { model: Model; state: ModelState }>();
      const modelFor = async (precode?: { k: number; beta: number }) => {
        const id = JSON.stringify(precode ?? null);
        let m = states.get(id);
        if (!m) {
          const model = attackedModel({ model: f.model, width, precode }, data);
          states.set(id, (m = { model, state: await modelAtRound(model, o.round, { seed: o.seed, train: data.train }) }));
        }
        return m;
      };
      for (const d of defenses(o)) {
        if (d.round && f.key === 'rtf') continue; // the ADGP rows are of the gradient-matching attacks
        const { model, state } = await modelFor(d.precode);
        // The twin: mask-aware matching, or for GGL the adaptive attack (which also replays DP's clipping on dense updates).
        const twin = f.key === 'ggl' ? 'ggl-adaptive' : `${f.attack}-mask`;
        for (const attack of f.key === 'rtf' ? [f.attack] : [f.attack, twin]) {
          if (attack === twin && !d.sparse && !(f.key === 'ggl' && d.name === 'dp')) rows.push({ attack, model: model.name, defense: d.label, sameAs: `${f.attack} (dense update)` });
          else plan.push({ attack, model, state, defense: d, iterations: f.iterations, restarts: f.restarts, width, tv });
        }
      }
    }
    // An ADGP row attacks one round: its clients' images, --batch each.
    const imagesOf = (d: DefenseRow) => (d.round ? d.round.clients * o.batch : o.images);
    const done = (i: number) => plan.slice(0, i).reduce((n, p) => n + imagesOf(p.defense), 0);
    const bar = new ProgressBar({ total: done(plan.length), unit: 'images', label: 'privacy table', everyPercent: 10 });
    const t0 = performance.now();
    for (const [i, p] of plan.entries()) {
      const images = imagesOf(p.defense);
      const file = `${p.attack}__${p.defense.file}`;
      // Every finished image of a row is kept under DIR/<row>.cases, so an interrupted table resumes at its last image (and step).
      const resume = resumeFiles(o.out, file, rowKey(o, p, source.dir), o.snapshotEvery);
      const r = await runExperiment({
        attack: p.attack,
        defense: p.defense.name,
        defenseOptions: p.defense.options,
        ...(p.defense.round ? { round: { ...p.defense.round, clip: DEFAULT_SECURE_CLIP } } : {}),
        model: p.model,
        state: p.state,
        data,
        images,
        first: o.first,
        batch: o.batch,
        seed: o.seed,
        iterations: p.iterations,
        restarts: p.restarts,
        tv: p.tv,
        batchNorm: o.batchNorm,
        prior,
        store: resume.cases,
        snapshots: resume.snapshots,
        lpips,
        onProgress: (q) => bar.update(done(i) + ((q.case + q.done / q.total) * images) / q.cases, `row ${i + 1}/${plan.length}: ${p.attack} vs ${p.defense.label}`),
      });
      writeExperiment(o.out, r, resultHead('privacy-table', withDefenseDefaults({ ...o, row: `${p.attack} vs ${p.defense.label}`, ...(p.defense.precode ? { precode: p.defense.precode } : {}) }, p.defense)), { data: source }, file);
      rows.push({ attack: p.attack, model: p.model.name, defense: p.defense.label, summary: r.summary });
      // Analytic attacks report no iterations: advance the bar by the finished row.
      bar.update(done(i + 1), `row ${i + 1}/${plan.length}: ${p.attack} vs ${p.defense.label}`);
      console.error(summaryLine(r.summary));
    }
    bar.finish();
    const familyOrder: string[] = families.map((f) => f.key);
    const order = (r: Row) => [familyOrder.indexOf(r.attack.split('-')[0]!), defenses(o).findIndex((d) => d.label === r.defense), /-(mask|adaptive)$/.test(r.attack) ? 1 : 0];
    rows.sort((a, b) => {
      const [x, y] = [order(a), order(b)];
      return x[0]! - y[0]! || x[1]! - y[1]! || x[2]! - y[2]!;
    });
    const minutes = (performance.now() - t0) / 60000;
    // What 'nothing recovered' scores: the data set's mean colour as every reconstruction.
    const batch = getBatch(data.test, Array.from({ length: o.images }, (_, i) => o.first + i), { normalize: true });
    const blank = scoreReconstruction({ truth: batch.x, recon: new Float32Array(batch.x.length), shape: batch.shape, mean: data.test.mean, std: data.test.std, match: 'none' });
    const lastImage = o.first + Math.max(...plan.map((p) => imagesOf(p.defense)), o.images) - 1;
    const setting = `CIFAR-10 test images ${o.first}-${lastImage} (${source.subset ? 'the bundled subset' : source.dir}), batch ${o.batch}, models at round ${o.round} (seed ${o.seed}); DLG: LeNet (DLG init), L-BFGS ${o.dlgIterations} iterations, labels optimised jointly; Inverting Gradients: ${igModelText(o)}, ${o.igIterations} signed-Adam steps x ${o.igRestarts} restart(s), TV ${o.igTv ?? settingsFor(INVERTING_GRADIENTS, o.igModel).spec.tv}, labels recovered from the update (${o.batch === 1 ? 'iDLG rule' : 'bias-corrected counting'}); Robbing the Fed: a 64-bin imprint layer in front of the LeNet (a malicious server), analytic read-out; '-mask' = matches only the coordinates the client sent;${prior ? ` GGL: ${o.gglModel === 'resnet18' ? `the CIFAR ResNet-18, batch norm in ${o.batchNorm === 'eval' ? 'evaluation' : 'training'} mode` : 'the LeNet'}, cosine matching through the generative prior ${o.prior} (${prior.metadata.steps ?? '?'} DCGAN steps on ${prior.metadata.dataset ?? '?'}), Adam on the latent, ${o.gglIterations} steps x ${o.gglRestarts} restart(s); ggl-adaptive replays the defense on its trial gradients (sent positions only; DP: clipped to the bound, L2 matching);` : ''} '≥ 30 dB' counts the images reconstructed to at least 30 dB${defenses(o).some((d) => d.round) ? `. ADGP and secure-aggregation rows: one round of ${o.roundClients} clients, client k holding test images ${o.first} + ${o.batch}k onwards (${o.batch} each), ADGP's common set voted from their ${o.roundClients} bands; 'each upload': every client's upload at the common set attacked on its own (what a server without secure aggregation reads), scored against its own images; 'aggregate': the mean of the ${o.roundClients} uploads (ADGP's, or with 'none' the raw gradients) as secure aggregation gives it to the server (src/secagg, clip ${DEFAULT_SECURE_CLIP}), attacked as one update of ${o.roundClients * o.batch} images (the attacker knows that count; IG recovers the labels by bias-corrected counting), each reconstruction scored against its best match among all ${o.roundClients * o.batch} images of the round (the attacker's target is any of them)` : ''}. SSIM is the Gaussian-window SSIM; CW-SSIM is breaching's (what the DGP paper reports as SSIM). For scale, the data set's mean colour as the reconstruction scores PSNR ${blank.psnrMean.toFixed(2)} dB, SSIM ${blank.ssim.toFixed(3)}, CW-SSIM ${blank.cwSsim.toFixed(3)}. Run time ${minutes.toFixed(1)} min.`;
    const table = renderTable(rows, isLpipsBackend(lpips));
    writeFileSync(join(o.out, 'table.md'), `${table}\n\n${setting}\n`);
    const head = resultHead('privacy-table', { ...o, defenseRows: defenses(o).map((d) => ({ label: d.label, defense: d.name, defenseOptions: effectiveDefenseOptions(d.name, d.options), ...(d.precode ? { precode: d.precode } : {}) })) });
    writeResult(join(o.out, 'table.json'), head, { setting, data: source, rows });
    const measured = rows.filter((r) => r.summary).map((r) => ({ attack: r.attack, defense: r.defense, psnr: r.summary!.psnr }));
    writeLinePlot(join(o.out, 'psnr.svg'), privacyFigure(measured, `Reconstruction quality per defense (batch ${o.batch}, round ${o.round})`));
    console.log(table);
    console.log(`\n${setting}`);
  },
};
