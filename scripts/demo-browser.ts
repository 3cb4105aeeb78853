// `npm run demo:browser`: a run with a browser among its clients, on 127.0.0.1. It makes a CA,
// certificates and credentials, builds the browser client, starts `dgp serve --web` (TLS) and two
// `dgp client` processes on their own MNIST image folders, and opens the page in headless Chromium
// as client 0, which trains on the bundled MNIST shard in onnxruntime-web: 3 rounds of DGP on the
// DLG LeNet. Prints one JSON line: the test accuracy and the bytes each client sent and received;
// saves a screenshot of the page after the run. Exits 0 only if the run finished.
// `--out DIR` keeps everything (default: a temporary folder).
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { loadMnist, writeImageFolder } from '../src/data/index.js';
import type { FederatedSpec, HistoryEntry } from '../src/federation/index.js';
import { accessEntry, makeCertificates, newToken, writeCertificates } from '../src/service/index.js';
import { launchChromium } from './browser.js';
import { buildWeb, SHARD_SIZE } from './build-web.js';
import { type DgpProcess, startDgp, stopAll, tail } from './processes.js';

export interface BrowserRun {
  dir: string;
  web: string;
  screenshot: string;
  pageState: string;
  pageErrors: string[];
  /** dgp serve's --json result. */
  served: { testAccuracy: number; testLoss: number; bytes: { up: number[]; down: number[] }; spec: FederatedSpec; history: HistoryEntry[] };
}

/** The run: a browser client 0 on the page's shard, Node clients 1 and 2 on 300-image folders. */
export async function browserRun(o: { dir: string; rounds?: number; screenshot: string; log?: (line: string) => void }): Promise<BrowserRun> {
  const { dir } = o;
  const log = o.log ?? (() => {});
  const procs: DgpProcess[] = [];
  try {
    const certs = await makeCertificates({ services: ['server'], hosts: ['127.0.0.1', 'localhost'] });
    writeCertificates(dir, certs);
    const creds = [0, 1, 2].map((clientId) => ({ role: 'client' as const, clientId, token: newToken() }));
    creds.forEach((c) => writeFileSync(join(dir, `client-${c.clientId}.json`), JSON.stringify(c)));
    writeFileSync(join(dir, 'access.json'), JSON.stringify({ tokens: creds.map(accessEntry) }));
    const web = join(dir, 'web');
    await buildWeb(web);
    const mnist = loadMnist();
    for (const k of [1, 2]) {
      writeImageFolder(join(dir, `client-${k}`), mnist.train, Int32Array.from({ length: 300 }, (_, i) => SHARD_SIZE * k + i), (path, bytes) => {
        mkdirSync(dirname(path), { recursive: true });
        writeFileSync(path, bytes);
      });
    }
    log(`built the page and wrote the clients' folders in ${dir}`);
    const server = startDgp('serve', [
      'serve', '--web-dir', web, '--model', 'lenet', '--rounds', String(o.rounds ?? 3), '--batch-size', '16', '--lr', '0.05', '--schedule', 'constant',
      '--test-limit', '1000', '--defense', 'dgp', '--seed', '2', '--tls-cert', 'server.pem', '--tls-key', 'server-key.pem', '--access', 'access.json',
      '--listen', '127.0.0.1:0', '--wait', '120', '--json', 'run.json',
    ], { cwd: dir });
    procs.push(server);
    const url = (await server.waitFor(/listening on (https:\/\/\S+?);/))[1]!;
    for (const k of [1, 2]) {
      procs.push(startDgp(`client ${k}`, ['client', '--server', url, '--credential', `client-${k}.json`, '--data', `folder:client-${k}`, '--tls-ca', 'ca.pem', '--seed', 'run'], { cwd: dir }));
    }
    const browser = await launchChromium({ trust: [certs.services.server!.cert] });
    let pageState = '';
    const pageErrors: string[] = [];
    try {
      const page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
      page.on('pageerror', (e) => pageErrors.push(e.message));
      await page.goto(`${url}/`);
      log(`opened ${url}/ in headless Chromium`);
      await page.fill('#credential', JSON.stringify(creds[0]));
      await page.check('input[name=seed][value=run]');
      await page.click('#start');
      await page.waitForFunction(() => ['finished', 'failed'].includes(document.body.dataset['state'] ?? ''), null, { timeout: 180_000 });
      pageState = (await page.textContent('#state')) ?? '';
      mkdirSync(dirname(o.screenshot), { recursive: true });
      await page.screenshot({ path: o.screenshot, fullPage: true });
    } finally {
      await browser.close();
    }
    const code = await server.exited;
    if (code !== 0) throw new Error(`dgp serve exited with ${code}\n${tail(server.stderr())}`);
    for (const p of procs.slice(1)) if ((await p.exited) !== 0) throw new Error(`${p.name} failed\n${tail(p.stderr())}`);
    const served = JSON.parse(readFileSync(join(dir, 'run.json'), 'utf8')) as BrowserRun['served'];
    return { dir, web, screenshot: o.screenshot, pageState, pageErrors, served };
  } finally {
    await stopAll(procs);
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const { values } = parseArgs({ options: { out: { type: 'string' }, rounds: { type: 'string', default: '3' } } });
  const dir = values.out ?? mkdtempSync(join(tmpdir(), 'dgp-browser-demo-'));
  mkdirSync(dir, { recursive: true });
  try {
    const r = await browserRun({ dir, rounds: Number(values.rounds), screenshot: join(dir, 'browser-client.png'), log: (l) => console.error(`demo: ${l}`) });
    console.error(`demo: the page says "${r.pageState}"; screenshot ${r.screenshot}`);
    console.log(JSON.stringify({
      rounds: r.served.spec.rounds, model: r.served.spec.model.name, defense: r.served.spec.defense.name, testAccuracy: r.served.testAccuracy,
      clients: ['browser (bundled shard)', 'node (folder)', 'node (folder)'], bytesUpPerClient: r.served.bytes.up, bytesDownPerClient: r.served.bytes.down,
    }));
    if (!/^finished/.test(r.pageState)) process.exitCode = 1;
  } catch (e) {
    console.error(`demo: FAILED: ${(e as Error).message}`);
    process.exitCode = 1;
  }
}
