// What a client process keeps of itself between runs of its process: at each checkpoint round the
// server asks for, its sampler, random streams, defense state (the error-feedback residual) and its
// replica of the model, as a durable round folder (src/train/checkpoints.ts) under
//   STATE_DIR/<run id>/client-<id>/round-000020/
// so a server resumed from its checkpoint of round 20 finds every client able to go on from the
// same round, and the run's history is the one it would have had without the interruption.
import { join } from 'node:path';
import { z } from 'zod';
import { stateFromJSON, stateToJSON } from '../defenses/index.js';
import { type FederatedClient, type ModelLayout, fullLayout, Replica, type ReplicaMeta } from '../federation/index.js';
import { readRoundFolder, roundFolderName, savedFolders, writeRoundFolder } from '../train/index.js';
import { decodeSafetensors, encodeSafetensors, matchLayout } from '../models/index.js';

const FORMAT = 1;
/** Folders kept: the newest two, so the round a resumed server names is still there after one more save. */
const KEEP = 2;

const fileSchema = z.object({
  format: z.literal(FORMAT),
  runId: z.string(),
  clientId: z.number().int().min(0),
  round: z.number().int().min(0),
  state: z.object({ sampler: z.unknown(), defenseRng: z.unknown(), defense: z.unknown(), replicaRound: z.number().int().nullable() }),
  replica: z.object({ round: z.number().int(), optimizer: z.unknown(), step: z.number().int(), momentum: z.array(z.boolean()) }).nullable(),
});

export class LocalStateStore {
  readonly dir: string;

  constructor(root: string, readonly runId: string, readonly clientId: number) {
    if (!/^[A-Za-z0-9_-]{1,64}$/.test(runId)) throw new Error(`run id ${JSON.stringify(runId)} cannot name a folder`);
    this.dir = join(root, runId, `client-${clientId}`);
  }

  rounds(): number[] {
    return savedFolders(this.dir).map((f) => f.round).sort((a, b) => a - b);
  }

  save(round: number, client: FederatedClient): string {
    const { state, replica } = client.snapshot();
    const file = { format: FORMAT, runId: this.runId, clientId: this.clientId, round, state, replica: replica ? replica.meta : null };
    const files: Record<string, Uint8Array> = { 'state.json': Buffer.from(stateToJSON(file)) };
    if (replica) files['replica.safetensors'] = encodeSafetensors(replica.allTensors(), { round: String(replica.round) });
    return writeRoundFolder(this.dir, round, files, { format: FORMAT, keep: KEEP });
  }

  /** Restores `client` to its state of `round`; throws naming the folder when that state is absent or damaged. */
  load(round: number, client: FederatedClient, layout: ModelLayout): void {
    const folder = join(this.dir, roundFolderName(round));
    const fail = (why: string): never => {
      throw new Error(`client state ${folder}: ${why}`);
    };
    if (!this.rounds().includes(round)) fail(`none saved (this client holds rounds ${this.rounds().join(', ') || 'none'} of run ${this.runId})`);
    const { 'state.json': json } = readRoundFolder(folder, ['state.json'], fail);
    const parsed = fileSchema.safeParse(stateFromJSON(json!.toString('utf8')));
    if (!parsed.success) return fail(`state.json: ${parsed.error.issues[0]!.path.join('.')}: ${parsed.error.issues[0]!.message}`);
    const f = parsed.data;
    if (f.runId !== this.runId || f.clientId !== this.clientId || f.round !== round) fail(`it is client ${f.clientId}'s state of round ${f.round} of run ${f.runId}`);
    let replica: Replica | null = null;
    if (f.replica) {
      const meta = f.replica as ReplicaMeta;
      const { 'replica.safetensors': bytes } = readRoundFolder(folder, ['replica.safetensors'], fail);
      const { tensors } = decodeSafetensors(bytes!, join(folder, 'replica.safetensors'));
      replica = Replica.fromTensors(layout, matchLayout(tensors, fullLayout(layout, meta.momentum), join(folder, 'replica.safetensors')), meta);
    }
    // A client that held no replica gets none back, and the server syncs it before it trains.
    client.restore(f.state as Parameters<FederatedClient['restore']>[0], replica);
  }
}
