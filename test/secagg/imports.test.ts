// src/secagg must bundle for browsers: it imports only its own files and the four audited
// libraries, never the compute core, another folder, or a Node built-in.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const dir = fileURLToPath(new URL('../../src/secagg/', import.meta.url));
const ALLOWED = /^(\.\/[a-z-]+\.js|@noble\/curves\/ed25519\.js|@noble\/ciphers\/chacha\.js|@noble\/hashes\/(hkdf|sha2|utils)\.js|shamir-secret-sharing)$/;

test('src/secagg imports only its own files and @noble/*, shamir-secret-sharing', () => {
  const files = readdirSync(dir).filter((f) => f.endsWith('.ts'));
  assert.ok(files.includes('index.ts') && files.length >= 8, `files: ${files}`);
  for (const f of files) {
    const source = readFileSync(dir + f, 'utf8');
    const specifiers = [...source.matchAll(/(?:^|\n)\s*(?:import|export)\b[^'"]*?from\s+'([^']+)'|import\(\s*'([^']+)'\s*\)/g)].map((m) => m[1] ?? m[2]!);
    assert.ok(specifiers.length > 0 || f === 'errors.ts', `${f}: no imports found (the pattern is broken?)`);
    for (const s of specifiers) assert.match(s, ALLOWED, `${f} imports "${s}"`);
    assert.doesNotMatch(source, /\b(process|Buffer|require)\s*[.(]/, `${f} uses a Node global`);
  }
});
