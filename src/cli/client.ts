// `dgp client`: one client of a run that `dgp serve` coordinates. It joins with its credential,
// trains on data it holds (or, for experiments, its share of a named data set), applies the run's
// defense before anything leaves it, and answers the server's rounds until the run ends. It
// reconnects with backoff while the server is away, and exits non-zero with a line saying why
// when the run was aborted, its credential refused, or the server stayed away too long.
import { writeFileSync } from 'node:fs';
import { z } from 'zod';
import { ClientStop, loadClientSource, loadCredential, parseDataSource, runClient } from '../service/index.js';
import { type Command, int, UsageError } from './args.js';
import { connectionFor, connectionOptions, connectionShape, stopSignal } from './client-options.js';

const schema = z.object({
  ...connectionShape,
  credential: z.string({ required_error: 'is required: this client\'s credential file (dgp credentials makes them)' }),
  data: z.string({ required_error: 'is required: folder:DIR, mnist:DIR, cifar10:DIR, share or share:DIR' }),
  seed: z.union([z.literal('run'), int()]).optional(),
  json: z.string().optional(),
});

export const clientCommand: Command<typeof schema> = {
  name: 'client',
  summary: 'join a run of dgp serve as one client that trains on its own data',
  usage: 'dgp client --server https://HOST:7443 --credential client-0.json --data folder:./my-images [--tls-ca ca.pem] [--broadcaster https://HOST:7444] [--state-dir DIR]',
  options: {
    ...connectionOptions,
    credential: { type: 'string', description: 'this client\'s credential file: its id and token' },
    data: { type: 'string', description: 'what this client trains on: folder:DIR (one subfolder per class, PNG/JPEG), mnist:DIR (IDX files), cifar10:DIR (binary batches or PNG form), share[:DIR] (its share of the run\'s data set by the run\'s seed), or a DIR recognised by its content' },
    seed: { type: 'string', description: 'this client\'s random stream: an integer, or run (derived from the run\'s seed as in one process: reproducible, but the server can then predict DP noise); default: random' },
    json: { type: 'string', description: 'write what this client did (rounds, bytes) as JSON to this file' },
  },
  schema,
  async run(o) {
    const credential = loadCredential(o.credential);
    if (credential.role !== 'client') throw new UsageError(`invalid --credential: ${o.credential} is a ${credential.role} credential, not a client's`);
    const source = parseDataSource(o.data);
    const id = credential.clientId;
    const log = (line: string) => console.error(`dgp client ${id}: ${line.replace(/^client \d+: /, '')}`);
    const t0 = performance.now();
    try {
      const out = await runClient({ ...connectionFor(o, credential, stopSignal()), data: (spec) => loadClientSource(source, spec), seed: o.seed, log });
      const seconds = (performance.now() - t0) / 1000;
      console.log(`client ${id}: ${out.reason}; trained in ${out.fits} rounds, ${(out.bytesUp / 1e6).toFixed(2)} MB up, ${(out.bytesDown / 1e6).toFixed(2)} MB down, ${seconds.toFixed(1)} s`);
      if (o.json) writeFileSync(o.json, JSON.stringify({ clientId: id, ...out, seconds }, null, 2));
    } catch (e) {
      if (e instanceof ClientStop) throw new Error(`client ${id} stopped: ${e.message}`);
      throw e;
    }
  },
};
