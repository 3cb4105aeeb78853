import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { createHash } from 'node:crypto';
import { CIFAR10_MD5, downloadFile, ensureCifar10, extractTar, loadCifar10, loadDataset, readTar, type FetchLike } from '../../src/data/index.js';
import { cifarRecords, tempDir, ustar } from './helpers.js';

const BATCHES = [1, 2, 3, 4, 5].map((i) => `data_batch_${i}.bin`).concat('test_batch.bin');

/** A miniature cifar-10-binary.tar.gz: every batch holds `records` records. */
function miniCifarArchive(records: number): Buffer {
  return gzipSync(ustar([
    { name: 'cifar-10-batches-bin/', data: '', type: '5' },
    ...BATCHES.map((f, b) => ({ name: `cifar-10-batches-bin/${f}`, data: cifarRecords(Array.from({ length: records }, (_, r) => (b + r) % 10)) })),
    { name: 'cifar-10-batches-bin/batches.meta.txt', data: 'airplane\nautomobile\n' },
  ]));
}

const md5 = (b: Buffer) => createHash('md5').update(b).digest('hex');

function fakeFetch(body: Buffer, opts: { status?: number; length?: number } = {}): { fetch: FetchLike; calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    fetch: async (url) => {
      calls.push(url);
      return new Response(new Uint8Array(body), {
        status: opts.status ?? 200,
        headers: { 'content-length': String(opts.length ?? body.length) },
      });
    },
  };
}

describe('tar reader', () => {
  it('lists and extracts files and folders of a ustar archive', () => {
    const tar = ustar([
      { name: 'a/', data: '', type: '5' },
      { name: 'a/one.txt', data: 'hello' },
      { name: 'a/b/two.bin', data: new Uint8Array(1000).fill(7) },
      { name: 'empty', data: '' },
    ]);
    const entries = readTar(tar, 't.tar');
    assert.deepEqual(entries.map((e) => [e.name, e.type, e.size]), [
      ['a/', 'directory', 0], ['a/one.txt', 'file', 5], ['a/b/two.bin', 'file', 1000], ['empty', 'file', 0],
    ]);
    const dir = tempDir();
    const written = extractTar(tar, dir, 't.tar');
    assert.equal(written.length, 3);
    assert.equal(readFileSync(join(dir, 'a/one.txt'), 'utf8'), 'hello');
    assert.equal(statSync(join(dir, 'a/b/two.bin')).size, 1000);
  });

  it('reads archives written by the system tar (GNU format, long names)', { skip: spawnSync('tar', ['--version']).status !== 0 }, () => {
    const src = tempDir();
    const long = `${'d'.repeat(60)}/${'f'.repeat(70)}.bin`;
    mkdirSync(join(src, 'd'.repeat(60)));
    writeFileSync(join(src, long), Buffer.alloc(3000, 3));
    writeFileSync(join(src, 'small.txt'), 'x');
    const archive = join(src, 'out.tar');
    assert.equal(spawnSync('tar', ['-cf', archive, '-C', src, 'small.txt', long]).status, 0);
    const entries = readTar(readFileSync(archive), archive).filter((e) => e.type === 'file');
    assert.deepEqual(entries.map((e) => [e.name, e.size]), [['small.txt', 1], [long, 3000]]);
  });

  it('rejects a bad checksum, a truncated archive, a missing end marker and unsafe paths', () => {
    const tar = ustar([{ name: 'x.bin', data: new Uint8Array(2000) }]);
    const bad = Buffer.from(tar);
    bad[10] = 65;
    assert.throws(() => readTar(bad, 'c.tar'), /c\.tar: bad tar header checksum at byte 0/);
    assert.throws(() => readTar(tar.subarray(0, 1024), 'c.tar'), /c\.tar: truncated tar: entry 'x\.bin' declares 2000 bytes, only 512 remain/);
    assert.throws(() => readTar(tar.subarray(0, 512 + 2048), 'c.tar'), /c\.tar: truncated tar: no end-of-archive marker after 1 entries/);
    assert.throws(() => readTar(Buffer.alloc(1024, 1), 'c.tar'), /c\.tar: not a tar archive or corrupt/);
    for (const name of ['../evil', '/abs/path', 'a/../../evil']) {
      assert.throws(() => extractTar(ustar([{ name, data: 'x' }]), tempDir(), 'c.tar'), /c\.tar: unsafe path/);
    }
  });
});

describe('CIFAR-10 download and cache (offline, with an injected fetch)', () => {
  it('downloads, extracts, verifies and then loads from the cache without fetching again', async () => {
    const dir = join(tempDir(), 'cache');
    const archive = miniCifarArchive(4);
    const { fetch, calls } = fakeFetch(archive);
    assert.equal(await ensureCifar10({ cacheDir: dir, fetch, recordsPerBatch: 4, url: 'https://example.invalid/c.tgz', md5: md5(archive) }), dir);
    assert.deepEqual(calls, ['https://example.invalid/c.tgz']);
    assert.ok(existsSync(join(dir, 'cifar-10-binary.tar.gz')));
    assert.ok(!existsSync(join(dir, 'cifar-10-binary.tar.gz.part')));
    const { train, test } = loadCifar10({ dataDir: dir });
    assert.equal(train.count, 20);
    assert.equal(test.count, 4);
    assert.deepEqual([...test.labels], [5, 6, 7, 8]);
    await ensureCifar10({ cacheDir: dir, fetch });
    const again = await loadDataset('cifar10', { dataDir: dir, download: true, fetch });
    assert.equal(again.train.count, 20);
    assert.equal(calls.length, 1);
  });

  it('extracts a folder holding only the archive when loading it', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'cifar-10-binary.tar.gz'), miniCifarArchive(2));
    assert.equal(loadCifar10({ dataDir: dir }).train.count, 10);
    assert.ok(existsSync(join(dir, 'cifar-10-batches-bin', 'test_batch.bin')));
  });

  it('checks the record count of every extracted batch against the official 10,000', async () => {
    const dir = tempDir();
    const archive = miniCifarArchive(2);
    const { fetch } = fakeFetch(archive);
    await assert.rejects(ensureCifar10({ cacheDir: dir, fetch, md5: md5(archive) }), /data_batch_1\.bin: extracted 6146 bytes, expected 30730000 \(10000 records\)/);
  });

  it('refuses an archive whose MD5 is not the published one, and caches nothing', async () => {
    assert.equal(CIFAR10_MD5, 'c32a1d4ab5d03f1284b67883e8d87530', 'the MD5 published for cifar-10-binary.tar.gz');
    const dir = join(tempDir(), 'cache');
    const archive = miniCifarArchive(4);
    const { fetch, calls } = fakeFetch(archive);
    // By default the official hash is expected: the (well-formed) small archive is not it.
    await assert.rejects(ensureCifar10({ cacheDir: dir, fetch, recordsPerBatch: 4 }), (e: Error) =>
      e.message.includes(`has MD5 ${md5(archive)}, not the expected ${CIFAR10_MD5}`) && e.message.includes('not kept'));
    for (const f of ['cifar-10-binary.tar.gz', 'cifar-10-binary.tar.gz.part', 'cifar-10-batches-bin']) assert.ok(!existsSync(join(dir, f)), `${f} was left in the cache`);
    // A wrong expected hash is refused the same way; the right one is accepted, case-insensitively.
    await assert.rejects(ensureCifar10({ cacheDir: dir, fetch, recordsPerBatch: 4, md5: '0'.repeat(32) }), /not the expected 0{32}/);
    assert.equal(await ensureCifar10({ cacheDir: dir, fetch, recordsPerBatch: 4, md5: md5(archive).toUpperCase() }), dir);
    assert.equal(calls.length, 3);
    assert.equal(loadCifar10({ dataDir: dir }).test.count, 4);
    // An archive put in the cache by hand is checked before it is unpacked.
    const other = join(tempDir(), 'cache');
    mkdirSync(other, { recursive: true });
    writeFileSync(join(other, 'cifar-10-binary.tar.gz'), archive);
    await assert.rejects(ensureCifar10({ cacheDir: other, fetch, recordsPerBatch: 4 }), (e: Error) =>
      e.message.startsWith(`${join(other, 'cifar-10-binary.tar.gz')}: MD5 ${md5(archive)} is not the expected ${CIFAR10_MD5}`));
    assert.ok(!existsSync(join(other, 'cifar-10-batches-bin')));
    assert.equal(calls.length, 3, 'nothing fetched for an archive already there');
  });

  it('reports an archive missing a batch, and a corrupt gzip stream', async () => {
    const dir = tempDir();
    const archive = join(dir, 'cifar-10-binary.tar.gz');
    writeFileSync(archive, gzipSync(ustar([{ name: 'cifar-10-batches-bin/data_batch_1.bin', data: cifarRecords([1]) }])));
    assert.throws(() => loadCifar10({ dataDir: dir }), (e: Error) => e.message === `${archive}: archive has no cifar-10-batches-bin/data_batch_2.bin`);
    const dir2 = tempDir();
    const archive2 = join(dir2, 'cifar-10-binary.tar.gz');
    writeFileSync(archive2, miniCifarArchive(1).subarray(0, 200));
    assert.throws(() => loadCifar10({ dataDir: dir2 }), (e: Error) => e.message.startsWith(`${archive2}: not a valid gzip stream`));
  });

  it('refuses an incomplete download or an HTTP error and leaves no file behind', async () => {
    const dir = tempDir();
    const dest = join(dir, 'x.tar.gz');
    await assert.rejects(downloadFile('https://example.invalid/x', dest, fakeFetch(Buffer.alloc(10), { status: 404 }).fetch), /could not download https:\/\/example\.invalid\/x into .*x\.tar\.gz: HTTP 404/);
    const short = async () => new Response(new Uint8Array(10), { headers: { 'content-length': '20' } });
    await assert.rejects(downloadFile('https://example.invalid/x', dest, short), /(incomplete: 10 of 20 bytes|failed after)/);
    const offline: FetchLike = async () => {
      throw new TypeError('fetch failed', { cause: new Error('getaddrinfo ENOTFOUND') });
    };
    await assert.rejects(downloadFile('https://example.invalid/x', dest, offline), /fetch failed \(getaddrinfo ENOTFOUND\)/);
    assert.ok(!existsSync(dest) && !existsSync(`${dest}.part`));
  });
});
