// Download-and-cache for the official CIFAR-10 binary archive, for machines with a network. The
// archive is fetched once into a cache folder, unpacked there, and checked before it is used.

import { createWriteStream, existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { CIFAR_ARCHIVE, detectCifar10, extractCifarArchive } from './cifar10.js';

export const CIFAR10_URL = 'https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz';

/** $XDG_CACHE_HOME/dgp-toolkit/cifar10, else ~/.cache/dgp-toolkit/cifar10. */
export function defaultCifar10Dir(): string {
  const base = process.env.XDG_CACHE_HOME || join(homedir(), '.cache');
  return join(base, 'dgp-toolkit', 'cifar10');
}

export type FetchLike = (url: string) => Promise<Response>;

export interface EnsureCifar10Options {
  /** Where to cache the archive and its contents; default defaultCifar10Dir(). */
  cacheDir?: string;
  url?: string;
  /** Injected in tests so that they never touch the network. */
  fetch?: FetchLike;
  /** Records each extracted batch must hold (10,000 in the official archive); null skips the check. */
  recordsPerBatch?: number | null;
  onProgress?: (receivedBytes: number, totalBytes: number | null) => void;
}

/**
 * Makes sure cacheDir holds CIFAR-10 in binary form, downloading and unpacking the official
 * archive when it does not. Returns the folder to hand to loadCifar10.
 */
export async function ensureCifar10(opts: EnsureCifar10Options = {}): Promise<string> {
  const dir = opts.cacheDir ?? defaultCifar10Dir();
  const present = existsSync(dir) ? detectCifar10(dir) : null;
  if (present?.kind === 'binary' || present?.kind === 'png-subset') return dir;
  mkdirSync(dir, { recursive: true });
  const archive = join(dir, CIFAR_ARCHIVE);
  if (!existsSync(archive)) await downloadFile(opts.url ?? CIFAR10_URL, archive, opts.fetch ?? fetch, opts.onProgress);
  extractCifarArchive(archive, dir, opts.recordsPerBatch === undefined ? 10000 : opts.recordsPerBatch);
  return dir;
}

/**
 * Streams url into dest through a .part file, so an interrupted download never leaves a file
 * that looks complete; checks the byte count against Content-Length when the server sends one.
 */
export async function downloadFile(
  url: string,
  dest: string,
  fetchImpl: FetchLike = fetch,
  onProgress?: (receivedBytes: number, totalBytes: number | null) => void,
): Promise<void> {
  const part = `${dest}.part`;
  let res: Response;
  try {
    res = await fetchImpl(url);
  } catch (e) {
    throw new Error(`could not download ${url} into ${dest}: ${describe(e)}`);
  }
  if (!res.ok || res.body === null) {
    throw new Error(`could not download ${url} into ${dest}: HTTP ${res.status}${res.statusText ? ` ${res.statusText}` : ''}`);
  }
  const header = res.headers.get('content-length');
  const total = header === null ? null : Number(header);
  let received = 0;
  const body = Readable.fromWeb(res.body as WebReadableStream<Uint8Array>);
  body.on('data', (chunk: Buffer) => {
    received += chunk.length;
    onProgress?.(received, total);
  });
  try {
    await pipeline(body, createWriteStream(part));
  } catch (e) {
    rmSync(part, { force: true });
    throw new Error(`download of ${url} into ${dest} failed after ${received} bytes: ${describe(e)}`);
  }
  if (total !== null && received !== total) {
    rmSync(part, { force: true });
    throw new Error(`download of ${url} into ${dest} is incomplete: ${received} of ${total} bytes`);
  }
  renameSync(part, dest);
}

function describe(e: unknown): string {
  const err = e as Error & { cause?: unknown };
  const cause = err.cause instanceof Error ? ` (${err.cause.message})` : '';
  return `${err.message ?? String(e)}${cause}`;
}
