// Download-and-cache for the official CIFAR-10 binary archive, for machines with a network. The
// archive is fetched once into a cache folder, checked against its published MD5, unpacked there,
// and its batches checked before they are used.

import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { CIFAR_ARCHIVE, detectCifar10, extractCifarArchive } from './cifar10.js';

export const CIFAR10_URL = 'https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz';
/** The MD5 the CIFAR-10 page publishes for cifar-10-binary.tar.gz. */
export const CIFAR10_MD5 = 'c32a1d4ab5d03f1284b67883e8d87530';

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
  /** The archive's expected MD5, hex (default CIFAR10_MD5, the official archive's); null skips the check. */
  md5?: string | null;
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
  const md5 = opts.md5 === undefined ? CIFAR10_MD5 : opts.md5;
  if (!existsSync(archive)) await downloadFile(opts.url ?? CIFAR10_URL, archive, opts.fetch ?? fetch, opts.onProgress, md5);
  else if (md5 !== null) {
    // An archive left in the cache by hand (or by an older version) is checked like a download.
    const got = await md5Of(archive);
    if (got !== md5.toLowerCase()) throw new Error(`${archive}: MD5 ${got} is not the expected ${md5}: not the official CIFAR-10 binary archive, or damaged; delete it and run again to download it anew`);
  }
  extractCifarArchive(archive, dir, opts.recordsPerBatch === undefined ? 10000 : opts.recordsPerBatch);
  return dir;
}

/**
 * Streams url into dest through a .part file, so an interrupted download never leaves a file
 * that looks complete; checks the byte count against Content-Length when the server sends one,
 * and the content against `md5` (hex) when given: a file that fails either is deleted, not kept.
 */
export async function downloadFile(
  url: string,
  dest: string,
  fetchImpl: FetchLike = fetch,
  onProgress?: (receivedBytes: number, totalBytes: number | null) => void,
  md5: string | null = null,
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
  const hash = createHash('md5');
  const body = Readable.fromWeb(res.body as WebReadableStream<Uint8Array>);
  body.on('data', (chunk: Buffer) => {
    received += chunk.length;
    hash.update(chunk);
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
  const got = hash.digest('hex');
  if (md5 !== null && got !== md5.toLowerCase()) {
    rmSync(part, { force: true });
    throw new Error(`download of ${url} has MD5 ${got}, not the expected ${md5}: a wrong or damaged file, not kept (${dest} was not written)`);
  }
  renameSync(part, dest);
}

async function md5Of(path: string): Promise<string> {
  const hash = createHash('md5');
  await pipeline(createReadStream(path), hash);
  return hash.digest('hex');
}

function describe(e: unknown): string {
  const err = e as Error & { cause?: unknown };
  const cause = err.cause instanceof Error ? ` (${err.cause.message})` : '';
  return `${err.message ?? String(e)}${cause}`;
}
