// `dgp broadcaster`: ADGP's broadcaster as a service of its own, with its own TLS certificate and
// access list (the run's clients and the server's token). Clients send it their band proposals;
// the server receives only the common set. It serves until SIGINT/SIGTERM, then writes --stats.
import { writeFileSync } from 'node:fs';
import { z } from 'zod';
import { startBroadcaster } from '../service/index.js';
import type { Command } from './args.js';
import { reloadableAccess, serviceOptions, serviceSettings, serviceShape } from './service-options.js';

const schema = z.object({ ...serviceShape(7444), stats: z.string().optional() });

export const broadcasterCommand: Command<typeof schema> = {
  name: 'broadcaster',
  summary: 'serve ADGP\'s broadcaster: clients send it their bands, the server gets only the common set',
  usage: 'dgp broadcaster --tls-cert broadcaster.pem --tls-key broadcaster-key.pem --access broadcaster-access.json [--listen 0.0.0.0:7444]',
  options: {
    ...serviceOptions(7444),
    stats: { type: 'string', description: 'on exit, write the bytes it received and sent per party as JSON to this file' },
  },
  schema,
  async run(o) {
    const log = (line: string) => console.error(`dgp broadcaster: ${line.replace(/^broadcaster: /, '')}`);
    const service = serviceSettings(o);
    const { server, stats } = await startBroadcaster({ ...service, access: reloadableAccess(o.access, log), log });
    log(`listening on ${server.url}`);
    await new Promise<void>((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
    });
    const wire = Object.fromEntries(server.wireBytes());
    await server.close();
    if (o.stats) writeFileSync(o.stats, JSON.stringify({ rounds: stats.rounds, wireBytes: wire, proposalBytes: Object.fromEntries(stats.proposalBytes) }, null, 2));
    log(`stopped after ${stats.rounds} rounds${o.stats ? `; wrote ${o.stats}` : ''}`);
  },
};
