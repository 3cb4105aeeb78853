// Decoder of the messages of wire.ts. Nothing in a message is trusted (see wire.ts).
import { KEY_BYTES, LITTLE_ENDIAN_HOST, SEALED_BUNDLE_BYTES, SHARE_BYTES } from './crypto.js';
import { SecAggError } from './errors.js';
import { MAX_CLIENTS } from './fixed-point.js';
import {
  HEADER_BYTES, MAGIC, MAX_VECTOR_LENGTH, MESSAGE_KINDS, WIRE_VERSION,
  type MessageKind, type MessageOf, type RosterEntry, type SealedBundle, type SecAggMessage, type ShareOf,
} from './wire.js';

class Reader {
  private at = HEADER_BYTES;
  private readonly view: DataView;
  constructor(private readonly bytes: Uint8Array, private readonly what: string) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  }
  fail(message: string): SecAggError {
    return new SecAggError('malformed', `${this.what} message: ${message}`);
  }
  need(n: number, field: string): void {
    const left = this.bytes.length - this.at;
    if (n > left) throw this.fail(`truncated: ${field} needs ${n} bytes at offset ${this.at}, ${left} remain`);
  }
  u8(field: string): number { this.need(1, field); return this.view.getUint8(this.at++); }
  u16(field: string): number { this.need(2, field); const v = this.view.getUint16(this.at, true); this.at += 2; return v; }
  u32(field: string): number { this.need(4, field); const v = this.view.getUint32(this.at, true); this.at += 4; return v; }
  f64(field: string): number { this.need(8, field); const v = this.view.getFloat64(this.at, true); this.at += 8; return v; }
  raw(n: number, field: string): Uint8Array { this.need(n, field); const v = this.bytes.slice(this.at, this.at + n); this.at += n; return v; }
  /** A uint16 list count, checked against its cap and against the bytes left for `entryBytes` each. */
  count(entryBytes: number, field: string): number {
    return this.fits(this.u16(field), entryBytes, field, MAX_CLIENTS);
  }
  fits(n: number, entryBytes: number, field: string, cap: number): number {
    if (n > cap) throw this.fail(`${field} ${n} exceeds ${cap}`);
    this.need(n * entryBytes, `${n} entries of ${field}`);
    return n;
  }
  /** Ids of a list must be strictly increasing (sorted, no duplicates). */
  ascending(id: number, previous: number | undefined, field: string): number {
    if (previous !== undefined && id <= previous) throw this.fail(`${field} ${id} after ${previous}: ids must be strictly increasing`);
    return id;
  }
  end(): void {
    const left = this.bytes.length - this.at;
    if (left !== 0) throw this.fail(`${left} trailing bytes after offset ${this.at}`);
  }
}

/** Kind and round of a message (header checked), e.g. to route it before decoding it whole. */
export function peekMessage(bytes: Uint8Array): { kind: MessageKind; round: number } {
  if (!(bytes instanceof Uint8Array)) throw new SecAggError('malformed', `message: expected a Uint8Array, got ${typeof bytes}`);
  if (bytes.length < HEADER_BYTES) throw new SecAggError('malformed', `message: truncated: ${bytes.length} bytes, the header alone is ${HEADER_BYTES}`);
  if (bytes[0] !== MAGIC[0] || bytes[1] !== MAGIC[1]) throw new SecAggError('malformed', `message: bad magic 0x${hex(bytes[0]!)} 0x${hex(bytes[1]!)} (not a secure-aggregation message)`);
  if (bytes[2] !== WIRE_VERSION) throw new SecAggError('malformed', `message: unsupported version ${bytes[2]} (this build reads version ${WIRE_VERSION})`);
  const kind = MESSAGE_KINDS[bytes[3]! - 1];
  if (!kind) throw new SecAggError('malformed', `message: unknown kind ${bytes[3]}`);
  return { kind, round: new DataView(bytes.buffer, bytes.byteOffset, bytes.length).getUint32(4, true) };
}

/** Decodes a message that must be of `kind` and of `round`. */
export function decodeMessage<K extends MessageKind>(bytes: Uint8Array, kind: K, round: number): MessageOf<K> {
  const head = peekMessage(bytes);
  if (head.kind !== kind) throw new SecAggError('malformed', `message: a "${head.kind}" message where "${kind}" was expected`);
  if (head.round !== round) throw new SecAggError('round', `${kind} message of round ${head.round} in round ${round}`);
  const r = new Reader(bytes, kind);
  const m = decodeBody(r, kind, round);
  r.end();
  return m as MessageOf<K>;
}

function decodeBody(r: Reader, kind: MessageKind, round: number): SecAggMessage {
  switch (kind) {
    case 'advertise':
      return { kind, round, client: r.u32('client'), encryptionKey: r.raw(KEY_BYTES, 'encryption key'), maskingKey: r.raw(KEY_BYTES, 'masking key') };
    case 'roster': {
      const threshold = r.u16('threshold');
      const k = r.u16('neighbours');
      const neighbours = k === 0 ? null : k;
      const clip = r.f64('clip');
      if (!Number.isFinite(clip) || clip <= 0) throw r.fail(`clip ${clip} is not a finite number > 0`);
      const n = r.count(4 + 2 * KEY_BYTES, 'count');
      if (neighbours !== null && (neighbours % 2 === 1 || neighbours > MAX_CLIENTS)) throw r.fail(`neighbours ${neighbours} is not an even number below ${MAX_CLIENTS}`);
      const hood = Math.min(n, (neighbours ?? n) + 1);
      if (threshold < 2 || threshold > hood) throw r.fail(`threshold ${threshold} is not in [2, ${hood}] for ${n} clients${neighbours ? ` with ${neighbours} neighbours each` : ''}`);
      const clients: RosterEntry[] = [];
      for (let i = 0; i < n; i++) {
        const id = r.ascending(r.u32('id'), clients[i - 1]?.id, 'client');
        clients.push({ id, encryptionKey: r.raw(KEY_BYTES, 'encryption key'), maskingKey: r.raw(KEY_BYTES, 'masking key') });
      }
      return { kind, round, threshold, neighbours, clip, clients };
    }
    case 'shares':
    case 'relay': {
      const self = r.u32(kind === 'shares' ? 'sender' : 'receiver');
      const seedCommitment = kind === 'shares' ? r.raw(KEY_BYTES, 'seed commitment') : new Uint8Array(0);
      const n = r.count(4 + SEALED_BUNDLE_BYTES, 'count');
      const bundles: SealedBundle[] = [];
      for (let i = 0; i < n; i++) {
        const peer = r.ascending(r.u32('peer'), bundles[i - 1]?.peer, 'peer');
        if (peer === self) throw r.fail(`client ${self} has a bundle with itself`);
        bundles.push({ peer, sealed: r.raw(SEALED_BUNDLE_BYTES, 'sealed bundle') });
      }
      return kind === 'shares' ? { kind, round, sender: self, seedCommitment, bundles } : { kind, round, receiver: self, bundles };
    }
    case 'masked': {
      const sender = r.u32('sender');
      const length = r.fits(r.u32('length'), 4, 'length', MAX_VECTOR_LENGTH);
      const raw = r.raw(4 * length, 'values');
      const view = new DataView(raw.buffer);
      const values = LITTLE_ENDIAN_HOST ? new Uint32Array(raw.buffer) : Uint32Array.from({ length }, (_, i) => view.getUint32(4 * i, true));
      return { kind, round, sender, values };
    }
    case 'unmask-request': {
      const lists: number[][] = [];
      for (const field of ['survivor', 'dropped']) {
        const ids: number[] = [];
        const n = r.count(4, `${field} count`);
        for (let i = 0; i < n; i++) ids.push(r.ascending(r.u32(field), ids[i - 1], field));
        lists.push(ids);
      }
      return { kind, round, survivors: lists[0]!, dropped: lists[1]! };
    }
    case 'unmask-response': {
      const sender = r.u32('sender');
      const n = r.count(5 + SHARE_BYTES, 'count');
      const shares: ShareOf[] = [];
      for (let i = 0; i < n; i++) {
        const subject = r.ascending(r.u32('subject'), shares[i - 1]?.subject, 'subject');
        const code = r.u8('secret');
        if (code !== 1 && code !== 2) throw r.fail(`secret ${code} of subject ${subject} is neither 1 (seed) nor 2 (key)`);
        const share = r.raw(SHARE_BYTES, 'share');
        if (share[SHARE_BYTES - 1] === 0) throw r.fail(`the share of subject ${subject} has x-coordinate 0`);
        shares.push({ subject, secret: code === 1 ? 'seed' : 'key', share });
      }
      return { kind, round, sender, shares };
    }
  }
}

function hex(b: number): string {
  return b.toString(16).padStart(2, '0');
}
