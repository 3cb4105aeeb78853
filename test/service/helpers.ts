// A deployment made inside the test: a CA and certificates for 127.0.0.1, a token per client and
// one for the server (to call the broadcaster), the access lists that admit them.
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Rng } from '../../src/common/rng.js';
import { type DgpProcess, startDgp, stopAll } from '../../scripts/processes.js';
import { type Dataset, loadImageFolder, partitionIid, writeImageFolder } from '../../src/data/index.js';
import { AccessList, accessEntry, type Credential, makeCertificates, newToken } from '../../src/service/index.js';

export interface TestDeployment {
  dir: string;
  ca: Buffer;
  server: { cert: Buffer; key: Buffer };
  broadcaster: { cert: Buffer; key: Buffer };
  clients: Extract<Credential, { role: 'client' }>[];
  serverCredential: Extract<Credential, { role: 'server' }>;
  /** Admits the clients (the run's server). */
  serverAccess: AccessList;
  /** Admits the clients and the server (the broadcaster). */
  broadcasterAccess: AccessList;
  files: { ca: string; serverCert: string; serverKey: string; broadcasterCert: string; broadcasterKey: string; serverAccess: string; broadcasterAccess: string; credentials: string[]; serverCredential: string };
}

export async function testDeployment(clients: number, dir = mkdtempSync(join(tmpdir(), 'dgp-deploy-'))): Promise<TestDeployment> {
  const certs = await makeCertificates({ services: ['server', 'broadcaster'], hosts: ['127.0.0.1', 'localhost'] });
  const creds = Array.from({ length: clients }, (_, clientId) => ({ role: 'client' as const, clientId, token: newToken() }));
  const serverCredential = { role: 'server' as const, token: newToken() };
  const serverAccess = { tokens: creds.map(accessEntry) };
  const broadcasterAccess = { tokens: [...creds.map(accessEntry), accessEntry(serverCredential)] };
  const w = (name: string, text: string) => {
    writeFileSync(join(dir, name), text);
    return join(dir, name);
  };
  const files = {
    ca: w('ca.pem', certs.caCert),
    serverCert: w('server.pem', certs.services.server!.cert),
    serverKey: w('server-key.pem', certs.services.server!.key),
    broadcasterCert: w('broadcaster.pem', certs.services.broadcaster!.cert),
    broadcasterKey: w('broadcaster-key.pem', certs.services.broadcaster!.key),
    serverAccess: w('server-access.json', JSON.stringify(serverAccess)),
    broadcasterAccess: w('broadcaster-access.json', JSON.stringify(broadcasterAccess)),
    credentials: creds.map((c) => w(`client-${c.clientId}.json`, JSON.stringify(c))),
    serverCredential: w('server-credential.json', JSON.stringify(serverCredential)),
  };
  const buf = (s: string) => Buffer.from(s);
  return {
    dir,
    ca: buf(certs.caCert),
    server: { cert: buf(certs.services.server!.cert), key: buf(certs.services.server!.key) },
    broadcaster: { cert: buf(certs.services.broadcaster!.cert), key: buf(certs.services.broadcaster!.key) },
    clients: creds,
    serverCredential,
    serverAccess: AccessList.parse(serverAccess, 'test'),
    broadcasterAccess: AccessList.parse(broadcasterAccess, 'test'),
    files,
  };
}

/** `clients` image folders of `perClient` images each (an IID cut of `data` by `seed`), DIR/client-K, read back as each client reads them. */
export function clientFolders(dir: string, data: Dataset, clients: number, perClient: number, seed: number): Dataset[] {
  return partitionIid(clients * perClient, clients, new Rng(seed)).map((indices, k) => {
    const folder = join(dir, `client-${k}`);
    writeImageFolder(folder, data, indices, (path, bytes) => {
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, bytes);
    });
    return loadImageFolder(folder, 'mnist');
  });
}

/** Starts dgp processes in the deployment's folder (`dir()`, read at each start) and stops them all at the end. */
export function processes(dir: () => string): { start: (name: string, args: string[]) => DgpProcess; stopAll: () => Promise<void> } {
  const procs: DgpProcess[] = [];
  return {
    start: (name, args) => {
      const p = startDgp(name, args, { cwd: dir() });
      procs.push(p);
      return p;
    },
    stopAll: () => stopAll(procs),
  };
}
