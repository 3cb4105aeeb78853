// Secure aggregation over the deployment service, in one process: serveRun (TLS, credentials),
// the ADGP broadcaster as its own service, and three runClient loops each with its own data. The
// protocol's steps travel as fit tasks (no protobuf change); the run equals the secure run in one
// process on the same data (test loss, every byte count, the whole history), and its history says
// who was in each sum.
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { Rng } from '../../src/common/rng.js';
import { type Dataset, loadMnist, partitionIid } from '../../src/data/index.js';
import { type FederatedSpec, runFederated } from '../../src/federation/index.js';
import { firstImages } from '../../src/federation/run.js';
import { nodeTransport, runClient, serveRun, startBroadcaster } from '../../src/service/index.js';
import { type TestDeployment, testDeployment } from './helpers.js';

const CLIENTS = 3;

describe('secure aggregation over the deployment service', () => {
  let d: TestDeployment;
  const mnist = loadMnist();
  let own: Dataset[];
  const test = firstImages(mnist.test, 300);

  before(async () => {
    d = await testDeployment(CLIENTS);
    own = partitionIid(CLIENTS * 100, CLIENTS, new Rng(5)).map((indices, k) => {
      const size = 28 * 28;
      const images = new Float32Array(indices.length * size);
      const labels = new Uint8Array(indices.length);
      indices.forEach((i, j) => {
        images.set(mnist.train.images.subarray(i * size, (i + 1) * size), j * size);
        labels[j] = mnist.train.labels[i]!;
      });
      return { ...mnist.train, count: indices.length, images, labels, source: `client ${k}` };
    });
  });
  after(() => rmSync(d.dir, { recursive: true, force: true }));

  it('an ADGP run with secure aggregation through serveRun and runClient equals the secure run in one process', async () => {
    const spec: FederatedSpec = {
      dataset: 'mnist', model: { name: 'mlp', width: 1, init: 'torch' }, clients: CLIENTS, rounds: 3, batchSize: 16, partition: { kind: 'iid' },
      fraction: 1, algorithm: 'clsgd', localSteps: 1, lr: 0.1, schedule: 'constant', lrSteps: [], momentum: 0.9, weightDecay: 1e-4, serverLr: 1,
      defense: { name: 'adgp', options: { pTop: 0.05, pKeep: 0.2 } }, seed: 3, evalEvery: 0, secureAggregation: { threshold: 2, clip: 1 },
    };
    const broadcaster = await startBroadcaster({ host: '127.0.0.1', port: 0, tls: d.broadcaster, access: () => d.broadcasterAccess });
    let listening!: (url: string) => void;
    const url = new Promise<string>((resolve) => (listening = resolve));
    try {
      const served = serveRun({
        spec, test, host: '127.0.0.1', port: 0, tls: d.server, access: () => d.serverAccess,
        broadcaster: { url: broadcaster.server.url, ca: d.ca, credential: d.serverCredential },
        waitMs: 60_000, clientTimeoutMs: 60_000, onListening: (s) => listening(s.url),
      });
      const serverUrl = await url;
      const outcomes = await Promise.all(d.clients.map((credential, k) => runClient({
        server: nodeTransport({ url: serverUrl, ca: d.ca, credential }),
        broadcaster: nodeTransport({ url: broadcaster.server.url, ca: d.ca, credential }),
        credential, seed: 'run', data: async () => ({ kind: 'own', train: own[k]! }),
      })));
      const { result: remote } = await served;
      const local = await runFederated(spec, { test }, { clientData: own });
      assert.equal(remote.testLoss, local.testLoss);
      assert.deepEqual(remote.bytesUp, local.bytesUp);
      assert.deepEqual(remote.bytesDown, local.bytesDown);
      assert.deepEqual(JSON.parse(JSON.stringify(remote.history)), JSON.parse(JSON.stringify(local.history)));
      assert.ok(remote.history.every((e) => e.failed === undefined && e.secure!.contributors.length === CLIENTS && e.dropped.length === 0));
      // Each client answered the fit call, the commit and the three later steps of each round.
      for (const o of outcomes) assert.equal(o.fits, 3 * 5);
    } finally {
      await broadcaster.server.close();
    }
  });
});
