// `dgp certs` and `dgp credentials`: what a deployment needs before its first run. certs makes a
// CA and a TLS certificate per service for the hosts they are reached at; credentials makes a
// token per client (and one for the server to call the broadcaster) and the access files that
// admit them, holding only the tokens' hashes. Neither overwrites a file without --force.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { accessEntry, makeCertificates, newToken, writeCertificates } from '../service/index.js';
import { type Command, int, UsageError } from './args.js';

function refuseOverwrite(paths: string[], force: boolean | undefined): void {
  const there = paths.filter((p) => existsSync(p));
  if (there.length && !force) throw new UsageError(`${there.join(', ')} already exist${there.length === 1 ? 's' : ''}; add --force to replace ${there.length === 1 ? 'it' : 'them'}`);
}

const certsSchema = z.object({
  out: z.string({ required_error: 'is required: the folder to write the certificates into' }),
  hosts: z.string().default('localhost,127.0.0.1'),
  services: z.string().regex(/^[a-z][a-z0-9-]*(,[a-z][a-z0-9-]*)*$/, 'expected names like server,broadcaster').default('server,broadcaster'),
  days: int().positive().default(365),
  force: z.boolean().optional(),
});

export const certsCommand: Command<typeof certsSchema> = {
  name: 'certs',
  summary: 'make a CA and a TLS certificate per service (server, broadcaster) for the given hosts',
  usage: 'dgp certs --out certs/ --hosts server.example.org,10.0.0.5',
  options: {
    out: { type: 'string', description: 'folder for ca.pem, ca-key.pem, NAME.pem and NAME-key.pem' },
    hosts: { type: 'string', description: 'host names and IP addresses the services are reached at, comma-separated', default: 'localhost,127.0.0.1' },
    services: { type: 'string', description: 'one certificate per name', default: 'server,broadcaster' },
    days: { type: 'string', description: 'validity', default: '365' },
    force: { type: 'boolean', description: 'replace files that exist' },
  },
  schema: certsSchema,
  async run(o) {
    const services = o.services.split(',');
    const names = ['ca.pem', 'ca-key.pem', ...services.flatMap((s) => [`${s}.pem`, `${s}-key.pem`])];
    refuseOverwrite(names.map((n) => join(o.out, n)), o.force);
    const set = await makeCertificates({ services, hosts: o.hosts.split(',').filter(Boolean), days: o.days });
    const files = writeCertificates(o.out, set);
    console.log(`wrote ${files.join(', ')} (for ${o.hosts}; keep ca-key.pem offline: it can issue certificates clients trust)`);
  },
};

const credentialsSchema = z.object({
  out: z.string({ required_error: 'is required: the folder to write the credentials into' }),
  clients: int().positive(),
  force: z.boolean().optional(),
});

export const credentialsCommand: Command<typeof credentialsSchema> = {
  name: 'credentials',
  summary: 'make a token per client and for the server, and the access files (hashes only) that admit them',
  usage: 'dgp credentials --clients 3 --out creds/',
  options: {
    out: { type: 'string', description: 'folder for client-K.json, server-credential.json, server-access.json, broadcaster-access.json' },
    clients: { type: 'string', description: 'how many clients (ids 0..N-1)' },
    force: { type: 'boolean', description: 'replace files that exist' },
  },
  schema: credentialsSchema,
  async run(o) {
    const clients = Array.from({ length: o.clients }, (_, clientId) => ({ role: 'client' as const, clientId, token: newToken() }));
    const server = { role: 'server' as const, token: newToken() };
    const files: [string, unknown, number][] = [
      ...clients.map((c): [string, unknown, number] => [`client-${c.clientId}.json`, c, 0o600]),
      ['server-credential.json', server, 0o600],
      ['server-access.json', { tokens: clients.map(accessEntry) }, 0o644],
      ['broadcaster-access.json', { tokens: [...clients.map(accessEntry), accessEntry(server)] }, 0o644],
    ];
    refuseOverwrite(files.map(([f]) => join(o.out, f)), o.force);
    mkdirSync(o.out, { recursive: true });
    for (const [f, value, mode] of files) writeFileSync(join(o.out, f), `${JSON.stringify(value, null, 2)}\n`, { mode });
    console.log(`wrote ${o.clients} client credentials, server-credential.json and the access files into ${o.out}; give client-K.json to client K only. Revoke a token by deleting its line from the access files and sending the service SIGHUP.`);
  },
};
