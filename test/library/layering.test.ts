// The layering the README promises, checked on the sources: a folder's public face is its index
// (every import from another folder goes through it), and the engine-free folders import neither
// the compute core nor Node built-ins, so they bundle for browsers as they are.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { test } from 'node:test';

const SRC = join(import.meta.dirname, '..', '..', 'src');
const ENGINE_FREE = ['common', 'defenses', 'codec', 'secagg', 'aggregation'];

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return path.endsWith(join('service', 'gen')) ? [] : sources(path);
    return e.name.endsWith('.ts') ? [path] : [];
  });
}

/** Every module specifier a file imports or re-exports (static and dynamic). */
function specifiers(code: string): string[] {
  const found: string[] = [];
  for (const m of code.matchAll(/(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g)) found.push((m[1] ?? m[2])!);
  return found;
}

const files = sources(SRC).map((path) => ({ path, folder: relative(SRC, path).split('/')[0]!, imports: specifiers(readFileSync(path, 'utf8')) }));

test('the scan sees the sources (a broken pattern would pass everything)', () => {
  assert.ok(files.length > 150, `${files.length} files`);
  const imports = files.flatMap((f) => f.imports);
  assert.ok(imports.includes('../common/index.js') && imports.includes('zod'), 'known imports found');
});

test('every import from another folder goes through that folder\'s index', () => {
  const bad = files.flatMap((f) =>
    f.imports
      .filter((s) => /^\.\.\/[^./][^/]*\/.+/.test(s) && !/^\.\.\/[^/]+\/index\.js$/.test(s))
      .map((s) => `${relative(SRC, f.path)}: ${s}`),
  );
  assert.deepEqual(bad, []);
});

test('the engine-free folders import neither the compute core nor Node built-ins', () => {
  const bad = files
    .filter((f) => ENGINE_FREE.includes(f.folder))
    .flatMap((f) => f.imports.filter((s) => s.startsWith('node:') || /^\.\.\/(core|train|models|service|cli)\//.test(s) || /^onnxruntime/.test(s)).map((s) => `${relative(SRC, f.path)}: ${s}`));
  assert.deepEqual(bad, []);
});
