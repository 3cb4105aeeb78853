// The engine-free folders (defenses, codec, aggregation, common, and secagg where it is) bundle for a browser as they are:
// no Node built-in is imported, and the bundle runs with a page's globals only, giving the bytes
// Node gives. (The installed package's subpaths get the same check in tarball.test.ts.)
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Rng } from '../../src/common/index.js';
import * as codec from '../../src/codec/index.js';
import * as defenses from '../../src/defenses/index.js';
import { bundleForBrowser, EXERCISE, runLikeAPage } from './bundle.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

type Outcome = { messages: number[][]; decoded: number[]; json: string; back: string };

describe('engine-free folders in a browser bundle', () => {
  const engineFree = ['defenses', 'codec', 'aggregation', 'common', 'secagg'].filter((f) => existsSync(`${ROOT}src/${f}/index.ts`));
  for (const folder of engineFree) {
    it(`${folder} imports no Node built-in`, async () => {
      const b = await bundleForBrowser(`export * from './src/${folder}/index.ts';`, ROOT);
      assert.deepEqual(b.nodeImports, []);
      assert.ok(b.code.length > 1000);
    });
  }

  it('the bundle runs with a page\'s globals only and encodes what Node encodes, byte for byte', async () => {
    const b = await bundleForBrowser(
      ['defenses', 'codec', 'common'].map((f) => `export * from './src/${f}/index.ts';`).join('\n'),
      ROOT,
    );
    // Through JSON: the page's arrays belong to another realm.
    const page = JSON.parse(JSON.stringify(runLikeAPage(b, `(function (lib) { ${EXERCISE} })(lib)`))) as Outcome;
    const node = new Function('lib', EXERCISE)({ ...defenses, ...codec, Rng }) as Outcome;
    assert.equal(page.messages.length, 2);
    assert.deepEqual(page.messages, node.messages);
    // DGP keeps 20 % of each tensor: 410 of 2,048 weights, 13 of 64 biases.
    assert.deepEqual(page.decoded, [410, 13]);
    // The residual through base64 without Buffer (the page) equals Node's, and reads back.
    assert.equal(page.json, node.json);
    assert.equal(page.back, page.json);
  });
});
