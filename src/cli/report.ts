// `dgp report --out DIR --from RUN[,RUN...]`: one self-contained HTML page (DIR/index.html) from
// the folders earlier runs wrote: a privacy table (table.json, its rows' JSON and grids, psnr.svg),
// a comparison (compare.json and its figures), single attacks (attack.json, attack.png) and figure
// folders (figure.json, e.g. the paper's Figures 1 and 2 from scripts/paper-figures.ts). Every
// number comes with the exact command that made it, the tool version and the git commit, read from
// the result's own head (src/cli/result.ts); every reconstruction with its PSNR under it.
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { PNG } from 'pngjs';
import { z } from 'zod';
import { type Block, type HtmlImage, type HtmlTable, renderPage, type Section } from '../report/index.js';
import { type Command, type OptionSpec } from './args.js';
import { attackCommand } from './attack.js';
import { compareCommand } from './compare.js';
import { privacyTableCommand } from './privacy-table.js';
import { type ResultHead, toolInfo } from './result.js';
import { trainCommand } from './train.js';

const COMMANDS: Record<string, Command> = { attack: attackCommand, 'privacy-table': privacyTableCommand, compare: compareCommand, train: trainCommand };

const kebab = (k: string) => k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

/** The command line a result head describes: only the options its command declares, in its order. */
export function commandLine(head: Pick<ResultHead, 'command' | 'options'>): string {
  const cmd = COMMANDS[head.command];
  const specs: Record<string, OptionSpec> = cmd?.options ?? {};
  const parts = [`dgp ${head.command}`];
  for (const [key, value] of Object.entries(head.options)) {
    const flag = kebab(key);
    const spec = specs[flag];
    if (cmd && (!spec || spec.aliasOf || spec.removed)) continue;
    // Objects (and lists of them, as results written before the rows moved to defenseRows hold) are records, not flags.
    if (value === undefined || value === null || value === false || (typeof value === 'object' && (!Array.isArray(value) || value.some((v) => typeof v === 'object')))) continue;
    if (value === true) parts.push(`--${flag}`);
    else parts.push(`--${flag} ${Array.isArray(value) ? value.join(',') : String(value)}`);
  }
  return parts.join(' ');
}

function provenance(h: ResultHead): string {
  return `${h.tool.name} ${h.tool.version}, commit ${h.tool.gitCommit ?? 'unknown'}, ${h.createdAt}`;
}

/** The cells of a grid written by writeExperiment (scale 2, pad 1; truth row above the reconstruction row). */
export function gridCells(png: Buffer, images: number, scale = 2, pad = 1): Buffer[] {
  const img = PNG.sync.read(png);
  const cellW = (img.width / scale - pad) / images - pad;
  const cellH = (img.height / scale - pad) / 2 - pad;
  if (!Number.isInteger(cellW) || !Number.isInteger(cellH) || cellW <= 0 || cellH <= 0) {
    throw new Error(`report: a ${img.width}x${img.height} grid does not hold 2 rows of ${images} images`);
  }
  const out: Buffer[] = [];
  for (let k = 0; k < images; k++) {
    // One cell: the true image above its reconstruction.
    const w = cellW * scale;
    const h = (2 * cellH + pad) * scale;
    const cell = new PNG({ width: w, height: h });
    const x0 = (pad + k * (cellW + pad)) * scale;
    const y0 = pad * scale;
    for (let y = 0; y < h; y++) img.data.copy(cell.data, y * w * 4, ((y0 + y) * img.width + x0) * 4, ((y0 + y) * img.width + x0 + w) * 4);
    out.push(PNG.sync.write(cell));
  }
  return out;
}

interface AttackJson extends ResultHead {
  summary: { attack: string; defense: string; model: string; round: number; images: number; batch: number; psnr: number; ssim: number; labelAccuracy?: number; relGradDistance: number };
  records: { psnrPerImage: number[] }[];
}

const f = (v: number | undefined, d: number) => (v === undefined || v === null ? '–' : Number.isFinite(v) ? v.toFixed(d) : String(v));

/** The grid of one experiment (NAME.png beside NAME.json), one cell per image with its PSNR. */
function experimentImages(dir: string, name: string, j: AttackJson): Block {
  const per = j.records.flatMap((r) => r.psnrPerImage);
  const cells = gridCells(readFileSync(join(dir, `${name}.png`)), per.length);
  const images: HtmlImage[] = cells.map((png, k) => ({ png, caption: `${f(per[k], 1)} dB`, alt: `${j.summary.attack} vs ${j.summary.defense}, image ${k}: truth above, reconstruction below` }));
  const s = j.summary;
  return {
    kind: 'images',
    images,
    caption: `${s.attack} vs ${s.defense} on ${s.model} (round ${s.round}), batch ${s.batch}: mean PSNR ${f(s.psnr, 2)} dB, SSIM ${f(s.ssim, 3)}${s.labelAccuracy !== undefined ? `, label accuracy ${f(s.labelAccuracy, 2)}` : ''}, rel. grad. distance ${f(s.relGradDistance, 3)}. Each cell: the true image above its reconstruction.`,
  };
}

function readJson<T>(path: string): T {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as T;
  } catch (e) {
    throw new Error(`report: cannot read ${path} (${(e as Error).message})`);
  }
}

function svgBlock(dir: string, file: string, caption: string): Block[] {
  const p = join(dir, file);
  return existsSync(p) ? [{ kind: 'svg', svg: readFileSync(p, 'utf8'), caption }] : [];
}

interface TableRow {
  attack: string;
  model: string;
  defense: string;
  sameAs?: string;
  summary?: AttackJson['summary'] & { recovered: number; cwSsim: number; lpips: number | string };
}

function privacySection(dir: string): Section {
  const t = readJson<ResultHead & { setting: string; rows: TableRow[] }>(join(dir, 'table.json'));
  const table: HtmlTable = {
    headers: ['attack', 'model', 'defense', 'PSNR (dB)', '≥ 30 dB', 'SSIM', 'CW-SSIM', 'LPIPS', 'label acc.', 'rel. grad. distance'],
    rows: t.rows.map((r) =>
      r.summary
        ? [r.attack, r.model, r.defense, f(r.summary.psnr, 2), `${r.summary.recovered}/${r.summary.images}`, f(r.summary.ssim, 3), f(r.summary.cwSsim, 3), typeof r.summary.lpips === 'number' ? f(r.summary.lpips, 3) : '–', f(r.summary.labelAccuracy, 2), f(r.summary.relGradDistance, 3)]
        : [r.attack, r.model, r.defense, `= ${r.sameAs ?? ''}`, '', '', '', '', '', ''],
    ),
  };
  const blocks: Block[] = [
    { kind: 'text', text: t.setting },
    { kind: 'command', label: 'made by', command: commandLine(t) },
    { kind: 'text', text: `Made with ${provenance(t)}.` },
    { kind: 'table', table },
    ...svgBlock(dir, 'psnr.svg', 'Mean PSNR per defense (dashed: the mask-aware attacks).'),
  ];
  // One grid per row that was run, in the table's order.
  for (const name of readdirSync(dir).filter((n) => n.endsWith('.json') && n !== 'table.json').sort()) {
    const stem = name.slice(0, -5);
    if (!existsSync(join(dir, `${stem}.png`))) continue;
    blocks.push(experimentImages(dir, stem, readJson<AttackJson>(join(dir, name))));
  }
  return { title: `Privacy table (${basename(dir)})`, blocks };
}

interface CompareJson extends ResultHead {
  rows: { label: string; testAccuracy: number; upPerClient: number; downPerClient: number; relGradDistance: number }[];
}

function compareSection(dir: string): Section {
  const c = readJson<CompareJson>(join(dir, 'compare.json'));
  const mb = (b: number) => (b / 1e6).toFixed(2);
  return {
    title: `Defenses compared in training (${basename(dir)})`,
    blocks: [
      { kind: 'command', label: 'made by', command: commandLine(c) },
      { kind: 'text', text: `Made with ${provenance(c)}.` },
      {
        kind: 'table',
        table: { headers: ['defense', 'test accuracy', 'MB up / client', 'MB down / client', 'rel. grad. distance'], rows: c.rows.map((r) => [r.label, `${(100 * r.testAccuracy).toFixed(2)} %`, mb(r.upPerClient), mb(r.downPerClient), f(r.relGradDistance, 3)]) },
      },
      ...svgBlock(dir, 'accuracy.svg', 'Test accuracy per round.'),
      ...svgBlock(dir, 'loss.svg', 'Training loss per round.'),
      ...svgBlock(dir, 'bandwidth.svg', 'Accuracy against bytes sent.'),
    ],
  };
}

function attackSection(dir: string): Section {
  const j = readJson<AttackJson>(join(dir, 'attack.json'));
  return {
    title: `${j.summary.attack} vs ${j.summary.defense} on ${j.summary.model} (${basename(dir)})`,
    blocks: [{ kind: 'command', label: 'made by', command: commandLine(j) }, { kind: 'text', text: `Made with ${provenance(j)}.` }, experimentImages(dir, 'attack', j)],
  };
}

/** A figure folder: figure.json names its SVG files, a table and the command that made them. */
export const figureSchema = z.object({
  title: z.string(),
  text: z.string(),
  command: z.string(),
  tool: z.object({ name: z.string(), version: z.string(), gitCommit: z.string().nullable() }),
  createdAt: z.string(),
  figures: z.array(z.object({ file: z.string(), caption: z.string() })),
  table: z.object({ headers: z.array(z.string()), rows: z.array(z.array(z.union([z.string(), z.number()]))) }).optional(),
});

function figureSection(dir: string): Section {
  const raw = readJson<unknown>(join(dir, 'figure.json'));
  const p = figureSchema.safeParse(raw);
  if (!p.success) throw new Error(`report: ${join(dir, 'figure.json')}: ${p.error.issues[0]!.path.join('.')}: ${p.error.issues[0]!.message}`);
  const g = p.data;
  return {
    title: g.title,
    blocks: [
      { kind: 'text', text: g.text },
      { kind: 'command', label: 'made by', command: g.command },
      { kind: 'text', text: `Made with ${g.tool.name} ${g.tool.version}, commit ${g.tool.gitCommit ?? 'unknown'}, ${g.createdAt}.` },
      ...(g.table ? [{ kind: 'table' as const, table: g.table }] : []),
      ...g.figures.flatMap((x) => svgBlock(dir, x.file, x.caption)),
    ],
  };
}

/** The section a run folder makes, by what it holds. */
export function sectionOf(dir: string): Section {
  if (!existsSync(dir)) throw new Error(`report: --from ${dir}: no such folder`);
  if (existsSync(join(dir, 'table.json'))) return privacySection(dir);
  if (existsSync(join(dir, 'compare.json'))) return compareSection(dir);
  if (existsSync(join(dir, 'attack.json'))) return attackSection(dir);
  if (existsSync(join(dir, 'figure.json'))) return figureSection(dir);
  throw new Error(`report: --from ${dir}: holds none of table.json (dgp privacy-table), compare.json (dgp compare --out), attack.json (dgp attack) or figure.json`);
}

const schema = z.object({
  out: z.string(),
  from: z.string().transform((s) => s.split(',').map((x) => x.trim()).filter(Boolean)),
  title: z.string().default('dgp-toolkit report'),
});

export const reportCommand: Command<typeof schema> = {
  name: 'report',
  summary: 'one self-contained HTML page from earlier runs: tables, figures, image grids with PSNR, and the command of every number',
  usage: 'dgp report --out runs/report --from runs/privacy,runs/compare,runs/ig-resnet18',
  options: {
    out: { type: 'string', description: 'folder for index.html' },
    from: { type: 'string', description: 'run folders, comma-separated: dgp privacy-table --out, dgp compare --out, dgp attack --out, or a figure folder (figure.json)' },
    title: { type: 'string', description: 'the page title', default: 'dgp-toolkit report' },
  },
  schema,
  async run(o) {
    const sections = o.from.map(sectionOf);
    const t = toolInfo();
    const html = renderPage({ title: o.title, provenance: `Written by ${t.name} ${t.version}, commit ${t.gitCommit ?? 'unknown'}, ${new Date().toISOString()}, from ${o.from.join(', ')}.`, sections });
    mkdirSync(o.out, { recursive: true });
    writeFileSync(join(o.out, 'index.html'), html);
    console.log(`wrote ${join(o.out, 'index.html')} (${sections.length} section${sections.length === 1 ? '' : 's'}, ${(html.length / 1024).toFixed(0)} KiB)`);
  },
};
