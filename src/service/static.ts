// The browser client's page, served by `dgp serve --web` from the same origin as the service (so
// it needs no CORS): GET and HEAD of the files in one folder, nothing above it, with the headers
// that make the page cross-origin isolated (onnxruntime-web then runs its WebAssembly on threads).
import { createReadStream, existsSync, statSync } from 'node:fs';
import type { ConnectNodeAdapterOptions } from '@connectrpc/connect-node';
import { extname, join, resolve, sep } from 'node:path';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.mjs': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8',
  '.wasm': 'application/wasm', '.json': 'application/json', '.png': 'image/png', '.svg': 'image/svg+xml', '.map': 'application/json',
};

/** The page's folder, checked: it must hold index.html (`npm run build:web` makes it). */
export function webRoot(dir: string): string {
  const root = resolve(dir);
  if (!existsSync(join(root, 'index.html'))) throw new Error(`--web ${dir}: no index.html there; build the browser client with npm run build:web (it writes web/dist)`);
  return root;
}

/** A request handler of the HTTP/1.1 or HTTP/2 server, as Connect's adapter takes one for paths that are not RPCs. */
type Handler = NonNullable<ConnectNodeAdapterOptions['fallback']>;

/** A handler for the files under root; anything else is 404 (405 for other methods). */
export function staticFiles(root: string): Handler {
  return (req, response): void => {
    // Both kinds of response write a head, a body and an end alike.
    const res = response as unknown as { writeHead(status: number, headers: Record<string, string>): void; end(text?: string): void };
    const send = (status: number, text: string) => {
      res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8' });
      res.end(text);
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(405, 'only GET and HEAD here');
    let path: string;
    try {
      path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    } catch {
      return send(400, 'bad path');
    }
    const file = resolve(root, `.${path.endsWith('/') ? `${path}index.html` : path}`);
    if (file !== root && !file.startsWith(root + sep)) return send(404, 'not found');
    if (!existsSync(file) || !statSync(file).isFile()) return send(404, 'not found');
    res.writeHead(200, {
      'content-type': TYPES[extname(file)] ?? 'application/octet-stream',
      'content-length': String(statSync(file).size),
      'cache-control': 'no-cache',
      'cross-origin-opener-policy': 'same-origin',
      'cross-origin-embedder-policy': 'require-corp',
      'x-content-type-options': 'nosniff',
    });
    if (req.method === 'HEAD') return void res.end();
    createReadStream(file).pipe(response as unknown as NodeJS.WritableStream);
  };
}
