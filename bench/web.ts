// `npm run bench -- --only web`: one training step (LeNet batch 32, MLP batch 128: loss, gradients,
// SGD update in one compiled call) in onnxruntime-web inside headless Chromium against the same in
// onnxruntime-node, median of 30 after 5 warm-up, as a ratio. The page is served cross-origin
// isolated from 127.0.0.1, so onnxruntime-web may use threads; both sides use 2.
import { writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { textTable } from '../src/report/index.js';
import { staticFiles } from '../src/service/index.js';
import { chromiumMissing, launchChromium } from '../scripts/browser.js';
import { buildWeb } from '../scripts/build-web.js';
import { medianMs, webTasks } from './web-tasks.js';

export async function benchWeb(): Promise<{ table: string; json: Record<string, number> }> {
  const missing = chromiumMissing();
  if (missing) return { table: `Web bench skipped: ${missing}`, json: {} };
  const dir = mkdtempSync(join(tmpdir(), 'dgp-bench-web-'));
  const server = createServer(staticFiles(dir));
  try {
    await buildWeb(dir, fileURLToPath(new URL('./web-page.ts', import.meta.url)));
    writeFileSync(join(dir, 'index.html'), '<!doctype html><meta charset="utf-8"><title>web bench</title><pre id="out">running</pre><script type="module" src="app.js"></script>');
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const browser = await launchChromium();
    let web: { engine: string; crossOriginIsolated: boolean; results: Record<string, number>; error?: string };
    try {
      const page = await browser.newPage();
      await page.goto(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
      await page.waitForFunction(() => (window as unknown as { benchResult?: unknown }).benchResult !== undefined, null, { timeout: 600_000 });
      web = await page.evaluate(() => (window as unknown as { benchResult: typeof web }).benchResult);
    } finally {
      await browser.close();
    }
    if (web.error) throw new Error(`the bench page failed: ${web.error}`);
    const json: Record<string, number> = {};
    const rows: string[][] = [];
    for (const t of webTasks()) {
      const node = await medianMs(t);
      const w = web.results[t.name]!;
      Object.assign(json, { [`${t.name}.node_ms`]: node, [`${t.name}.web_ms`]: w, [`${t.name}.ratio`]: w / node });
      rows.push([t.name, node.toFixed(2), w.toFixed(2), (w / node).toFixed(2)]);
    }
    return {
      table: `Training step in the browser (${web.engine}, cross-origin isolated: ${web.crossOriginIsolated}) against onnxruntime-node (2 threads), median ms\n` +
        textTable(['task', 'onnxruntime-node', 'onnxruntime-web', 'web / node'], rows),
      json,
    };
  } finally {
    server.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
