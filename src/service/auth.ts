// Who may call a service. Every party presents a bearer token (`authorization: Bearer dgp_...`);
// the service's access file holds only the tokens' SHA-256, each with the role it grants (a client
// id, the server, an observer). Tokens, not client certificates, because the same credential then
// works from Node, from a browser page (which cannot present a client certificate chosen by the
// page) and from any gRPC client; TLS still authenticates the service to the caller. Tokens are
// 256 random bits, so a plain SHA-256 (no slow password hash) is enough to make a leaked access
// file useless, and the lookup by hash leaks nothing usable about a token through timing.
// Revoking a credential is deleting its line and reloading the file (SIGHUP, or a restart).
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { z } from 'zod';

export type Principal =
  | { role: 'client'; clientId: number }
  | { role: 'server' }
  | { role: 'observer' };

const TOKEN = /^dgp_[A-Za-z0-9_-]{43}$/;
const hex64 = z.string().regex(/^[0-9a-f]{64}$/, 'expected the SHA-256 of a token, 64 lowercase hex digits');

const entrySchema = z.discriminatedUnion('role', [
  z.object({ role: z.literal('client'), clientId: z.number().int().min(0), sha256: hex64, note: z.string().optional() }).strict(),
  z.object({ role: z.literal('server'), sha256: hex64, note: z.string().optional() }).strict(),
  z.object({ role: z.literal('observer'), sha256: hex64, note: z.string().optional() }).strict(),
]);
export const accessSchema = z.object({ tokens: z.array(entrySchema) }).strict();
export type AccessFile = z.infer<typeof accessSchema>;

const credentialSchema = z.discriminatedUnion('role', [
  z.object({ role: z.literal('client'), clientId: z.number().int().min(0), token: z.string().regex(TOKEN, 'not a dgp token') }).strict(),
  z.object({ role: z.literal('server'), token: z.string().regex(TOKEN, 'not a dgp token') }).strict(),
  z.object({ role: z.literal('observer'), token: z.string().regex(TOKEN, 'not a dgp token') }).strict(),
]);
/** What a party keeps secret: its token and the role it was issued for. */
export type Credential = z.infer<typeof credentialSchema>;

export function newToken(): string {
  return `dgp_${randomBytes(32).toString('base64url')}`;
}

export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** The access entry that admits a credential (for the service's access file). */
export function accessEntry(c: Credential): AccessFile['tokens'][number] {
  const sha256 = hashToken(c.token);
  return c.role === 'client' ? { role: 'client', clientId: c.clientId, sha256 } : { role: c.role, sha256 };
}

function readJson(path: string, what: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new Error(`${what} ${path}: cannot read it (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new Error(`${what} ${path}: not JSON (${(e as Error).message})`);
  }
}

function issueText(e: z.ZodError): string {
  const i = e.issues[0]!;
  return `${i.path.join('.') || 'file'}: ${i.message}`;
}

export function loadCredential(path: string): Credential {
  const r = credentialSchema.safeParse(readJson(path, 'credential'));
  if (!r.success) throw new Error(`credential ${path}: ${issueText(r.error)}`);
  return r.data;
}

/** The tokens a service admits, by hash. */
export class AccessList {
  private constructor(private readonly byHash: ReadonlyMap<string, Principal>, readonly source: string) {}

  static parse(input: unknown, source: string): AccessList {
    const r = accessSchema.safeParse(input);
    if (!r.success) throw new Error(`access file ${source}: ${issueText(r.error)}`);
    const byHash = new Map<string, Principal>();
    const clients = new Set<number>();
    for (const [i, t] of r.data.tokens.entries()) {
      if (byHash.has(t.sha256)) throw new Error(`access file ${source}: tokens.${i}: the same token hash is listed twice`);
      if (t.role === 'client') {
        if (clients.has(t.clientId)) throw new Error(`access file ${source}: tokens.${i}: client ${t.clientId} has two tokens; revoke the old one`);
        clients.add(t.clientId);
        byHash.set(t.sha256, { role: 'client', clientId: t.clientId });
      } else byHash.set(t.sha256, { role: t.role });
    }
    return new AccessList(byHash, source);
  }

  static load(path: string): AccessList {
    return AccessList.parse(readJson(path, 'access file'), path);
  }

  /** The principal of an `authorization` header value, or null (absent, malformed or unknown token). */
  lookup(authorization: string | undefined): Principal | null {
    if (!authorization) return null;
    const m = /^Bearer (\S+)$/.exec(authorization);
    if (!m || !TOKEN.test(m[1]!)) return null;
    return this.byHash.get(hashToken(m[1]!)) ?? null;
  }

  /** Client ids that have a token. */
  get clientIds(): number[] {
    return [...this.byHash.values()].flatMap((p) => (p.role === 'client' ? [p.clientId] : [])).sort((a, b) => a - b);
  }
}

/** The `authorization` header for a credential. */
export function bearer(c: Credential): string {
  return `Bearer ${c.token}`;
}
