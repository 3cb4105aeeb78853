// The DGP paper's Figures 1 and 2, re-run at a budget two CPU cores allow, as figure folders that
// `dgp report` reads (figure.json + SVG):
//   figure1/: Inverting Gradients' PSNR against the relative gradient distance ||g - C(g)|| / ||g||
//             of the attacked update, sweeping DGP's dropped top fraction (sending 20 %) and Top-k's
//             density; the plain attacker (what the paper measures) and the mask-aware one.
//   figure2/: DGP against Top-k at equal density (20 %): the attack's PSNR and the test accuracy
//             of federated training with each, side by side (accuracy from a `dgp compare --out`
//             folder given with --compare, or trained here with --train-rounds).
// Every attacked image is kept (DIR/figure1/points/...), so an interrupted run resumes.
//   node --import tsx scripts/paper-figures.ts --out runs/figures [--model resnet18 --width 1
//        --images 2 --iterations 300 --tv 1e-3 --p-top 0,0.01,0.05,0.1,0.2 --density 0.05,0.1,0.2,0.4
//        --compare runs/compare-mnist]
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { modelAtRound } from '../src/attacks/case.js';
import { type ExperimentSummary, runExperiment } from '../src/attacks/experiment.js';
import { attackedModel } from '../src/cli/attack.js';
import { openDataset } from '../src/cli/data.js';
import { resumeFiles } from '../src/cli/resume-files.js';
import { toolInfo } from '../src/cli/result.js';
import { linePlotSvg, type PlotSeries } from '../src/report/index.js';

const { values: a } = parseArgs({
  options: {
    out: { type: 'string' },
    model: { type: 'string', default: 'resnet18' },
    width: { type: 'string', default: '1' },
    images: { type: 'string', default: '2' },
    iterations: { type: 'string', default: '300' },
    tv: { type: 'string' },
    seed: { type: 'string', default: '7' },
    'p-top': { type: 'string', default: '0,0.01,0.05,0.1,0.2' },
    density: { type: 'string', default: '0.05,0.1,0.2,0.4' },
    attacks: { type: 'string', default: 'ig,ig-mask' },
    compare: { type: 'string' },
    'data-dir': { type: 'string' },
  },
});
if (!a.out) throw new Error('paper-figures: --out DIR is required');
const out = a.out;
const nums = (s: string) => s.split(',').map(Number);
const o = { model: a.model as 'resnet18', width: Number(a.width), images: Number(a.images), iterations: Number(a.iterations), tv: a.tv !== undefined ? Number(a.tv) : undefined, seed: Number(a.seed) };
const command = `node --import tsx scripts/paper-figures.ts ${process.argv.slice(2).join(' ')}`;
const { data, source } = await openDataset('paper-figures', 'cifar10', { dataDir: a['data-dir'] });
const model = attackedModel({ model: o.model, width: o.width }, data);
const state = await modelAtRound(model, 0, { seed: o.seed });

interface Point {
  attack: string;
  defense: string;
  setting: number;
  summary: ExperimentSummary;
}

async function point(attack: string, defense: 'dgp' | 'topk', setting: number): Promise<Point> {
  const options = defense === 'dgp' ? { pTop: setting, pKeep: 0.2 } : { fraction: setting };
  const name = `${attack}__${defense}-${setting}`;
  const key = JSON.stringify({ attack, defense, options, ...o, data: source.dir });
  const files = resumeFiles(join(out, 'figure1', 'points'), name, key, 100);
  const r = await runExperiment({
    attack, defense, defenseOptions: options, model, state, data, images: o.images, batch: 1, seed: o.seed, iterations: o.iterations, restarts: 1, tv: o.tv,
    store: files.cases, snapshots: files.snapshots,
  });
  console.error(`${name}: PSNR ${r.summary.psnr.toFixed(2)} dB at relative gradient distance ${r.summary.relGradDistance.toFixed(3)}`);
  return { attack, defense, setting, summary: r.summary };
}

const attacks = a.attacks!.split(',');
const points: Point[] = [];
for (const attack of attacks) {
  for (const p of nums(a['p-top']!)) points.push(await point(attack, 'dgp', p));
  for (const d of nums(a.density!)) points.push(await point(attack, 'topk', d));
}
const baseline = await point('ig', 'topk', 1);

const tool = toolInfo();
const stamp = { tool, createdAt: new Date().toISOString(), command };
const setting = `${o.model}${o.width !== 1 ? ` (width ${o.width})` : ''} at initialisation (seed ${o.seed}), batch norm in evaluation mode, CIFAR-10 test images 0-${o.images - 1}, Inverting Gradients ${o.iterations} signed-Adam steps x 1 restart${o.tv !== undefined ? `, TV ${o.tv}` : ''}, labels recovered (iDLG)`;
const series: PlotSeries[] = attacks.flatMap((attack) =>
  (['dgp', 'topk'] as const).map((d) => ({
    name: `${attack} vs ${d === 'dgp' ? 'DGP (p_top swept, 20 % sent)' : 'Top-k (density swept)'}`,
    dashed: attack.endsWith('-mask'),
    points: points.filter((p) => p.attack === attack && p.defense === d).map((p) => [p.summary.relGradDistance, p.summary.psnr] as const),
  })),
);
mkdirSync(join(out, 'figure1'), { recursive: true });
writeFileSync(join(out, 'figure1', 'psnr-vs-distance.svg'), linePlotSvg({ series, title: 'Figure 1: IG PSNR against relative gradient distance', xLabel: '||g - C(g)|| / ||g||', yLabel: 'mean PSNR (dB)', markers: true }));
const row = (p: Point) => [p.attack, p.defense === 'dgp' ? `DGP p_top ${p.setting}, 20 % sent` : `Top-k ${p.setting * 100} %`, p.summary.relGradDistance.toFixed(3), p.summary.psnr.toFixed(2), `${p.summary.recovered}/${p.summary.images}`, p.summary.ssim.toFixed(3)];
writeFileSync(join(out, 'figure1', 'figure.json'), JSON.stringify({
  title: "The paper's Figure 1: reconstruction quality against the relative gradient distance",
  text: `${setting}. Undefended: ${baseline.summary.psnr.toFixed(2)} dB. Each point is one defense setting; the x value is the mean relative gradient distance of the attacked updates.`,
  ...stamp,
  figures: [{ file: 'psnr-vs-distance.svg', caption: 'Solid: the plain attacker (zeros where nothing was sent); dashed: the mask-aware attacker.' }],
  table: { headers: ['attack', 'defense', 'rel. grad. distance', 'PSNR (dB)', '≥ 30 dB', 'SSIM'], rows: [row(baseline), ...points.map(row)] },
}, null, 2));

// Figure 2: equal density (20 %): DGP at p_top 0.05 against Top-k 20 %, privacy next to accuracy.
const at = (attack: string, d: 'dgp' | 'topk', s: number) => points.find((p) => p.attack === attack && p.defense === d && p.setting === s);
const accuracy = new Map<string, number>();
let accuracyText = 'No training run was given (--compare DIR, a dgp compare --out folder).';
if (a.compare) {
  const c = JSON.parse(readFileSync(join(a.compare, 'compare.json'), 'utf8')) as { rows: { label: string; testAccuracy: number }[]; options: Record<string, unknown> };
  for (const r of c.rows) accuracy.set(r.label, r.testAccuracy);
  accuracyText = `Accuracy from ${a.compare}/compare.json (dgp compare: ${c.options['model']} on ${c.options['dataset']}, ${c.options['rounds']} rounds, ${c.options['clients']} clients).`;
}
const pick = (prefix: string) => [...accuracy.entries()].find(([l]) => l.startsWith(prefix))?.[1];
const cats = ['undefended', 'DGP 5 %/20 %', 'Top-k 20 %'];
const psnrOf = (attack: string) => [baseline.summary.psnr, at(attack, 'dgp', 0.05)?.summary.psnr ?? NaN, at(attack, 'topk', 0.2)?.summary.psnr ?? NaN];
const acc = [pick('undefended'), pick('DGP 5 %/20 %, error feedback'), pick('Top-k 20 %')].map((v) => (v === undefined ? NaN : 100 * v));
mkdirSync(join(out, 'figure2'), { recursive: true });
writeFileSync(join(out, 'figure2', 'privacy.svg'), linePlotSvg({ series: attacks.map((t) => ({ name: t, dashed: t.endsWith('-mask'), points: psnrOf(t).map((v, i) => [i, v] as const) })), xCategories: cats, title: 'Figure 2a: privacy at 20 % density', yLabel: 'IG mean PSNR (dB)', markers: true }));
const figures = [{ file: 'privacy.svg', caption: 'Inverting Gradients against each defense (lower is more private).' }];
if (acc.some(Number.isFinite)) {
  writeFileSync(join(out, 'figure2', 'accuracy.svg'), linePlotSvg({ series: [{ name: 'test accuracy', points: acc.map((v, i) => [i, v] as const) }], xCategories: cats, title: 'Figure 2b: accuracy at 20 % density', yLabel: 'final test accuracy (%)', markers: true }));
  figures.push({ file: 'accuracy.svg', caption: 'Federated training with each defense (higher is better).' });
}
writeFileSync(join(out, 'figure2', 'figure.json'), JSON.stringify({
  title: "The paper's Figure 2: DGP against Top-k at equal density (20 %)",
  text: `${setting}. ${accuracyText}`,
  ...stamp,
  figures,
  table: { headers: ['defense', ...attacks.map((t) => `${t} PSNR (dB)`), 'test accuracy'], rows: cats.map((c, i) => [c, ...attacks.map((t) => psnrOf(t)[i]!.toFixed(2)), Number.isFinite(acc[i]) ? `${acc[i]!.toFixed(2)} %` : '–']) },
}, null, 2));
console.log(`wrote ${out}/figure1 and ${out}/figure2${existsSync(join(out, 'figure2', 'accuracy.svg')) ? '' : ' (no accuracy panel: give --compare DIR)'}`);
