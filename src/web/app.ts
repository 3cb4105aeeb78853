// The browser client: the same client as `dgp client` (src/service/client-runner.ts), its model's
// traced graphs run by onnxruntime-web, reaching the run's server over Connect-Web with the
// user's credential. The page shows what happens: round, loss, bytes sent and withheld, and the
// server's test accuracy when it evaluates.
import { Code, ConnectError, createClient } from '@connectrpc/connect';
import { createConnectTransport } from '@connectrpc/connect-web';
import { setEngine, webEngine } from '../core/index.js';
import type { Dataset } from '../data/index.js';
import type { ClientSource } from '../federation/index.js';
import { authInterceptor, ClientStop, FederationService, runClient, type TaskEvent } from '../service/index.js';
import { decodeFiles, fetchShard } from './files.js';

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const show = (id: string, text: string) => ($(id).textContent = text);
const here = new URL('./', location.href);

function log(line: string): void {
  const li = document.createElement('li');
  li.textContent = `${new Date().toLocaleTimeString()} ${line}`;
  $('log').append(li);
  li.scrollIntoView({ block: 'nearest' });
}

function setState(state: string, cls = ''): void {
  const el = $('state');
  el.textContent = state;
  el.className = cls;
  document.body.dataset['state'] = cls || state;
}

interface Credential {
  role: 'client';
  clientId: number;
  token: string;
}

function parseCredential(text: string): Credential {
  let c: unknown;
  try {
    c = JSON.parse(text);
  } catch {
    throw new Error('the credential is not JSON: paste your client-K.json');
  }
  const ok = typeof c === 'object' && c !== null && (c as Credential).role === 'client' && Number.isInteger((c as Credential).clientId) && /^dgp_[A-Za-z0-9_-]{43}$/.test(String((c as Credential).token));
  if (!ok) throw new Error('the credential is not a client credential ({"role":"client","clientId":K,"token":"dgp_..."})');
  return c as Credential;
}

const fmt = (b: number) => (b >= 1e6 ? `${(b / 1e6).toFixed(2)} MB` : `${(b / 1e3).toFixed(1)} kB`);

async function join(ev: SubmitEvent): Promise<void> {
  ev.preventDefault();
  const button = $<HTMLButtonElement>('start');
  button.disabled = true;
  try {
    const credential = parseCredential($<HTMLTextAreaElement>('credential').value);
    const server = $<HTMLInputElement>('server').value.replace(/\/$/, '');
    const transport = createConnectTransport({ baseUrl: server, useBinaryFormat: true, interceptors: [authInterceptor(credential)] });
    setState('loading the engine', 'training');
    const engine = await webEngine({ wasmPaths: here.href });
    setEngine(engine);
    show('engine', engine.name);
    const useFiles = (document.querySelector('input[name=data]:checked') as HTMLInputElement).value === 'files';
    const picked = [...($<HTMLInputElement>('files').files ?? [])];
    const seed = (document.querySelector('input[name=seed]:checked') as HTMLInputElement).value === 'run' ? 'run' as const : undefined;
    let withheld = { sent: 0, total: 0 };
    const status = createClient(FederationService, transport);
    const poll = setInterval(() => {
      status.status({}).then((s) => {
        if (s.evaluated) show('accuracy', `${(100 * s.testAccuracy).toFixed(2)} % (round ${s.round} of ${s.rounds})`);
      }, () => {});
    }, 2000);
    setState('joining', 'training');
    log(`client ${credential.clientId} joins ${server}`);
    try {
      const out = await runClient({
        server: transport,
        credential,
        seed,
        data: async (spec) => {
          const ds: Dataset = useFiles ? await decodeFiles(picked, spec.dataset) : await fetchShard(here);
          if (!useFiles && spec.dataset !== 'mnist') throw new Error(`this run trains on ${spec.dataset}; the bundled shard is MNIST: pick image files`);
          show('data', `${ds.count} images (${ds.source})`);
          show('run', `${spec.model.name} on ${spec.dataset}, ${spec.clients} clients, ${spec.rounds} rounds, defense ${spec.defense.name}`);
          setState('training', 'training');
          return { kind: 'own', train: ds } satisfies ClientSource;
        },
        onTask: (e: TaskEvent) => {
          show('bytes', `${fmt(e.totalUp)} / ${fmt(e.totalDown)}`);
          if (e.error) log(`round ${e.round}: ${e.kind} failed: ${e.error}`);
          if (e.loss === undefined) return;
          show('round', String(e.round));
          show('loss', e.loss.toFixed(4));
          const r = e.report ?? {};
          if (r['sentEntries'] !== undefined && r['totalEntries'] !== undefined) {
            withheld = { sent: r['sentEntries'], total: r['totalEntries'] };
            const held = withheld.total - withheld.sent;
            show('withheld', `${held.toLocaleString()} of ${withheld.total.toLocaleString()} (${((100 * held) / withheld.total).toFixed(1)} %)`);
          }
          if (r['relGradDistance'] !== undefined) show('distance', r['relGradDistance'].toFixed(3));
          log(`round ${e.round}: loss ${e.loss.toFixed(4)}, sent ${fmt(e.bytesUp)}`);
        },
        log,
      });
      const s = await status.status({}).catch(() => null);
      if (s?.evaluated) show('accuracy', `${(100 * s.testAccuracy).toFixed(2)} % (round ${s.round} of ${s.rounds})`);
      setState(`finished: ${out.reason}`, 'finished');
      log(`done: trained in ${out.fits} rounds, ${fmt(out.bytesUp)} sent, ${fmt(out.bytesDown)} received`);
    } finally {
      clearInterval(poll);
    }
  } catch (e) {
    const message = e instanceof ClientStop ? e.message : e instanceof ConnectError && e.code === Code.Unauthenticated ? `the server refused this credential (${e.rawMessage})` : (e as Error).message;
    setState(`stopped: ${message}`, 'failed');
    log(`stopped: ${message}`);
    button.disabled = false;
  }
}

$<HTMLInputElement>('server').value = location.origin;
$<HTMLInputElement>('credential-file').addEventListener('change', async (ev) => {
  const f = (ev.target as HTMLInputElement).files?.[0];
  if (f) $<HTMLTextAreaElement>('credential').value = await f.text();
});
$<HTMLFormElement>('join').addEventListener('submit', (ev) => void join(ev));
document.body.dataset['state'] = 'idle';
