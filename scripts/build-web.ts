// `npm run build:web`: the browser client as static files in web/dist (or --out DIR): the page,
// its script bundled by esbuild for the browser (no Node built-in may be left in it: the build
// fails if one is), onnxruntime-web's WebAssembly files, and the bundled MNIST shard (the first
// 1,000 training images as IDX files) the page can train on. `dgp serve --web` serves the folder;
// any static host can too (then give dgp serve --cors-origin).
import { builtinModules } from 'node:module';
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { encodeIdx, loadMnist } from '../src/data/index.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
export const WEB_DIST = join(root, 'web', 'dist');
export const SHARD_SIZE = 1000;

/** Module specifiers a browser cannot load: what must not be left in the bundle. */
const NODE_ONLY = ['onnxruntime-node', ...builtinModules, ...builtinModules.map((m) => `node:${m}`)];

/** Builds the page into `out`; `entry` is another page script (the web bench's), bundled as app.js beside the same files. */
export async function buildWeb(out = WEB_DIST, entry = join(root, 'src', 'web', 'app.ts')): Promise<{ dir: string; bytes: number }> {
  mkdirSync(out, { recursive: true });
  const result = await build({
    entryPoints: { app: entry },
    outdir: out,
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    // onnxruntime-web's build that loads its WebAssembly (and its worker script) from the page's folder.
    conditions: ['onnxruntime-web-use-extern-wasm'],
    external: NODE_ONLY,
    minify: true,
    sourcemap: true,
    metafile: true,
    logLevel: 'warning',
  });
  // What the bundle still imports from outside it (esbuild's metafile lists every kept import). The
  // core's default engine, onnxruntime-node, stays as a dynamic import that never runs: the page sets its own engine first.
  const left = Object.values(result.metafile.outputs).flatMap((o) => o.imports.filter((i) => i.external && !(i.path === 'onnxruntime-node' && i.kind === 'dynamic-import')).map((i) => `${i.path} (${i.kind})`));
  if (left.length) throw new Error(`the browser bundle still imports ${[...new Set(left)].join(', ')}: something the page reaches uses Node`);
  for (const f of ['index.html', 'style.css']) copyFileSync(join(root, 'src', 'web', f), join(out, f));
  const ortDist = join(dirname(createRequire(import.meta.url).resolve('onnxruntime-web')), '..', 'dist');
  for (const f of ['ort-wasm-simd-threaded.mjs', 'ort-wasm-simd-threaded.wasm']) copyFileSync(join(ortDist, f), join(out, f));
  const mnist = loadMnist();
  const shard = encodeIdx(mnist.train, Int32Array.from({ length: SHARD_SIZE }, (_, i) => i));
  writeFileSync(join(out, 'train-images-idx3-ubyte'), shard.images);
  writeFileSync(join(out, 'train-labels-idx1-ubyte'), shard.labels);
  return { dir: out, bytes: Object.values(result.metafile.outputs).reduce((s, o) => s + o.bytes, 0) };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const i = process.argv.indexOf('--out');
  const r = await buildWeb(i >= 0 ? process.argv[i + 1] : undefined);
  console.log(`built the browser client into ${r.dir} (script ${(r.bytes / 1e6).toFixed(2)} MB with its source map)`);
}
