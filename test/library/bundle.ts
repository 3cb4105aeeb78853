// Bundling for browsers, as a web page's build would: esbuild with platform 'browser'. Every import
// of a Node built-in (node:fs, or fs by its bare name) is collected instead of failing on the first,
// so a test can name them all; the bundle is an IIFE that leaves its exports in `globalName`.
import { builtinModules } from 'node:module';
import { runInNewContext } from 'node:vm';
import { build } from 'esbuild';

export interface BrowserBundle {
  code: string;
  /** "node:fs (from src/x.ts)" for each import of a Node built-in. */
  nodeImports: string[];
}

const BUILTIN = new RegExp(`^(node:.*|${builtinModules.map((m) => m.replace(/[/]/g, '\\/')).join('|')})$`);

/** `source`: module text (e.g. `export * from 'dgp-toolkit/defenses'`) resolved from `resolveDir`. */
export async function bundleForBrowser(source: string, resolveDir: string, globalName = 'lib'): Promise<BrowserBundle> {
  const nodeImports: string[] = [];
  const r = await build({
    stdin: { contents: source, resolveDir, sourcefile: 'entry.ts', loader: 'ts' },
    bundle: true,
    platform: 'browser',
    format: 'iife',
    globalName,
    write: false,
    logLevel: 'silent',
    plugins: [{
      name: 'node-builtins',
      setup(b) {
        b.onResolve({ filter: BUILTIN }, (a) => {
          nodeImports.push(`${a.path} (from ${a.importer})`);
          return { path: a.path, external: true };
        });
      },
    }],
  });
  return { code: r.outputFiles[0]!.text, nodeImports };
}

/**
 * Runs a bundle and then `script` in a fresh context holding only what a page has of the globals
 * these folders may use (no Buffer, process, require or module): the script's last value comes back.
 */
export function runLikeAPage(bundle: BrowserBundle, script: string): unknown {
  const page = { console, atob, btoa, TextEncoder, TextDecoder, queueMicrotask, structuredClone };
  return runInNewContext(`${bundle.code}\n;${script}`, page, { timeout: 20_000 });
}

/** Two rounds of DGP with error feedback, each update encoded: a function body of `lib`, run in Node and in the page alike. */
export const EXERCISE = `
  const grads = (round) => [
    { name: 'fc.weight', shape: [64, 32], data: Float32Array.from({ length: 2048 }, (_, i) => Math.sin(i * 0.37 + round) * (1 + (i % 7))) },
    { name: 'fc.bias', shape: [64], data: Float32Array.from({ length: 64 }, (_, i) => Math.cos(i + round)) },
  ];
  const defense = lib.createDefense('dgp');
  let state = defense.init(grads(0).map((t) => ({ name: t.name, shape: t.shape })));
  const rng = new lib.Rng(3);
  const messages = [];
  for (let round = 1; round <= 2; round++) {
    const r = defense.apply(grads(round), state, rng);
    state = r.state;
    messages.push(Array.from(lib.encodeUpdate({ kind: 'update', round, clientId: 5 }, r.update)));
  }
  const decoded = lib.decodeUpdate(Uint8Array.from(messages[1])).update.map((u) => u.values.length);
  const json = lib.stateToJSON(state);
  const back = lib.stateToJSON(lib.stateFromJSON(json));
  return { messages, decoded, json, back };
`;
