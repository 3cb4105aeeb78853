// Certificates for a deployment: a run's own certificate authority and one certificate per
// service (server, broadcaster) for the host names and addresses it is reached at. Made with
// @peculiar/x509 over WebCrypto (ECDSA P-256, SHA-256), so no openssl is needed; docs/deploy.md
// shows the same with openssl for those who keep their own CA.
import { webcrypto } from 'node:crypto';
import { isIP } from 'node:net';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
// @peculiar/x509 needs the Reflect metadata API loaded before it (its documented requirement).
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';

const subtle = webcrypto.subtle as unknown as SubtleCrypto;
x509.cryptoProvider.set(webcrypto as unknown as Crypto);
const EC = { name: 'ECDSA', namedCurve: 'P-256' } as const;
const SIGN = { name: 'ECDSA', hash: 'SHA-256' } as const;

export interface CertificateSet {
  caCert: string;
  caKey: string;
  /** Per service name: its certificate and private key (PEM). */
  services: Record<string, { cert: string; key: string }>;
}

async function pkcs8Pem(key: CryptoKey): Promise<string> {
  const der = Buffer.from(await subtle.exportKey('pkcs8', key));
  const lines = der.toString('base64').match(/.{1,64}/g)!;
  return `-----BEGIN PRIVATE KEY-----\n${lines.join('\n')}\n-----END PRIVATE KEY-----\n`;
}

function altNames(hosts: readonly string[]): x509.JsonGeneralNames {
  return hosts.map((h) => (isIP(h) ? { type: 'ip' as const, value: h } : { type: 'dns' as const, value: h }));
}

/** A CA valid for `days`, and for each service a certificate for `hosts`, signed by it. */
export async function makeCertificates(o: { services: readonly string[]; hosts: readonly string[]; days?: number }): Promise<CertificateSet> {
  if (o.hosts.length === 0) throw new Error('certificates: give at least one host name or address (e.g. localhost,127.0.0.1)');
  const notBefore = new Date(Date.now() - 60_000);
  const notAfter = new Date(Date.now() + (o.days ?? 365) * 86_400_000);
  const caKeys = (await subtle.generateKey(EC, true, ['sign', 'verify'])) as CryptoKeyPair;
  const ca = await x509.X509CertificateGenerator.createSelfSigned({
    name: 'CN=dgp-toolkit run CA',
    keys: caKeys,
    notBefore,
    notAfter,
    signingAlgorithm: SIGN,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(caKeys.publicKey),
    ],
  });
  const services: CertificateSet['services'] = {};
  for (const name of o.services) {
    const keys = (await subtle.generateKey(EC, true, ['sign', 'verify'])) as CryptoKeyPair;
    const cert = await x509.X509CertificateGenerator.create({
      subject: `CN=${name}`,
      issuer: ca.subject,
      publicKey: keys.publicKey,
      signingKey: caKeys.privateKey,
      notBefore,
      notAfter,
      signingAlgorithm: SIGN,
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
        new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
        new x509.SubjectAlternativeNameExtension(altNames(o.hosts)),
        await x509.AuthorityKeyIdentifierExtension.create(caKeys.publicKey),
      ],
    });
    services[name] = { cert: cert.toString('pem') + '\n', key: await pkcs8Pem(keys.privateKey) };
  }
  return { caCert: ca.toString('pem') + '\n', caKey: await pkcs8Pem(caKeys.privateKey), services };
}

/** Writes ca.pem, ca-key.pem, NAME.pem and NAME-key.pem into dir (keys readable by the owner only). */
export function writeCertificates(dir: string, set: CertificateSet): string[] {
  mkdirSync(dir, { recursive: true });
  const files: [string, string, number][] = [['ca.pem', set.caCert, 0o644], ['ca-key.pem', set.caKey, 0o600]];
  for (const [name, s] of Object.entries(set.services)) files.push([`${name}.pem`, s.cert, 0o644], [`${name}-key.pem`, s.key, 0o600]);
  for (const [f, text, mode] of files) writeFileSync(join(dir, f), text, { mode });
  return files.map(([f]) => join(dir, f));
}

/** Reads a PEM file, naming the option it came from when it is missing or not PEM. */
export function readPem(path: string, option: string): Buffer {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    throw new Error(`${option} ${path}: cannot read it (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  if (!bytes.toString('latin1').includes('-----BEGIN ')) throw new Error(`${option} ${path}: not a PEM file (expected -----BEGIN ...)`);
  return bytes;
}
