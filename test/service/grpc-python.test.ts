// Any gRPC client in any language can call the service: Python's grpcio (Debian's python3-grpcio
// and python3-grpc-tools), with stubs generated from the repository's .proto, reads a real dgp
// serve's status over TLS with a client's token, and an unauthenticated call gets UNAUTHENTICATED.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, it } from 'node:test';
import { type DgpProcess, startDgp, stopAll } from '../../scripts/processes.js';
import { testDeployment } from './helpers.js';

const here = dirname(fileURLToPath(import.meta.url));
const PYTHON = '/usr/bin/python3';
const probe = spawnSync(PYTHON, ['-c', 'import grpc, grpc_tools.protoc'], { encoding: 'utf8' });
const missing = probe.status === 0 ? null : 'python3 with grpcio and grpc_tools is not installed (apt-get install python3-grpcio python3-grpc-tools): the Python gRPC client test is skipped';
if (missing) console.log(`# ${missing}`);

describe('a gRPC client in Python', { skip: missing ?? false }, () => {
  const procs: DgpProcess[] = [];
  after(() => stopAll(procs));

  it('authenticates with a client token and reads the run\'s status; without a token it gets UNAUTHENTICATED', async () => {
    const d = await testDeployment(2);
    try {
      const stubs = join(d.dir, 'stubs');
      mkdirSync(stubs);
      const proto = join(here, '..', '..', 'proto');
      execFileSync(PYTHON, ['-m', 'grpc_tools.protoc', '-I', proto, `--python_out=${stubs}`, `--grpc_python_out=${stubs}`, join(proto, 'dgp/v1/federation.proto')]);
      const server = startDgp('serve', ['serve', '--model', 'mlp', '--rounds', '7', '--defense', 'dgp', '--tls-cert', 'server.pem', '--tls-key', 'server-key.pem', '--access', 'server-access.json', '--listen', '127.0.0.1:0', '--wait', '60'], { cwd: d.dir });
      procs.push(server);
      const url = new URL((await server.waitFor(/listening on (https:\/\/\S+?);/))[1]!);
      const call = (...token: string[]) => JSON.parse(execFileSync(PYTHON, [join(here, 'grpc_status.py'), stubs, url.host, d.files.ca, ...token], { encoding: 'utf8' }));
      const status = call(d.clients[1]!.token);
      assert.equal(status.ok, true, JSON.stringify(status));
      assert.deepEqual({ state: status.state, rounds: status.rounds, clients: status.clients, connected: status.connected }, { state: 'waiting', rounds: 7, clients: 2, connected: 0 });
      assert.match(status.run_id, /^[0-9a-f]{32}$/);
      assert.deepEqual(call(), { ok: false, code: 'UNAUTHENTICATED', details: 'a valid credential is required (authorization: Bearer TOKEN)' });
      assert.equal(call(`dgp_${'A'.repeat(43)}`).code, 'UNAUTHENTICATED');
    } finally {
      rmSync(d.dir, { recursive: true, force: true });
    }
  });
});
