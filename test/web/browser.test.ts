// The browser client in a real browser: Debian's Chromium (headless, driven by playwright-core)
// opens the page that `dgp serve --web` serves over TLS, pastes client 0's credential, trains the
// DLG LeNet on the bundled MNIST shard in onnxruntime-web, while two `dgp client` processes train
// on their own image folders: 3 rounds of DGP (npm run demo:browser's run). The run must equal, to
// 1e-5 in the test loss, the same run with every client in Node on the same data (run in one
// process, which the deployment tests show equals Node client processes byte for byte). A
// screenshot of the page after the run is saved in test/output/.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { loadImageFolder, loadMnist, mnistFromIdx } from '../../src/data/index.js';
import { runFederated } from '../../src/federation/index.js';
import { chromiumMissing } from '../../scripts/browser.js';
import { browserRun } from '../../scripts/demo-browser.js';

const OUTPUT = join(dirname(fileURLToPath(import.meta.url)), '..', 'output');
const missing = chromiumMissing();
if (missing) console.log(`# ${missing}: the browser client test is skipped`);

describe('the browser client in headless Chromium', { skip: missing ?? false }, () => {
  it('trains with two Node clients and gives the result of three Node clients on the same data', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dgp-browser-'));
    try {
      const r = await browserRun({ dir, screenshot: join(OUTPUT, 'browser-client.png') });
      console.log(`# screenshot of the page after the run: ${r.screenshot}`);
      assert.match(r.pageState, /^finished: finished 3 rounds/, `the page says: ${r.pageState}; page errors: ${r.pageErrors.join('; ')}`);
      assert.deepEqual(r.pageErrors, []);
      const mnist = loadMnist();
      const shard = mnistFromIdx(readFileSync(join(r.web, 'train-images-idx3-ubyte')), readFileSync(join(r.web, 'train-labels-idx1-ubyte')), 'shard', 'shard');
      const local = await runFederated(r.served.spec, { test: mnist.test }, {
        clientData: [shard, loadImageFolder(join(dir, 'client-1'), 'mnist'), loadImageFolder(join(dir, 'client-2'), 'mnist')],
      });
      const { served } = r;
      console.log(`# test loss: browser run ${served.testLoss}, Node ${local.testLoss} (difference ${Math.abs(served.testLoss - local.testLoss).toExponential(2)}); bytes up per client ${served.bytes.up.join(', ')} vs ${local.bytesUp.join(', ')}`);
      assert.ok(Math.abs(served.testLoss - local.testLoss) <= 1e-5, `test loss ${served.testLoss} vs ${local.testLoss}`);
      assert.equal(served.history.length, 3);
      for (let k = 0; k < 3; k++) assert.ok(Math.abs(served.bytes.up[k]! - local.bytesUp[k]!) <= 0.01 * local.bytesUp[k]!, `client ${k} sent ${served.bytes.up[k]} bytes, ${local.bytesUp[k]} in Node`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
