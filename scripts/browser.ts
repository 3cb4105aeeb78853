// Debian's Chromium driven by playwright-core (it uses the system browser: nothing is downloaded),
// for the browser client's test, its demo and its bench. The browser trusts a run's TLS
// certificate by pinning its public key (--ignore-certificate-errors-spki-list), not by ignoring
// certificate errors in general, and is kept off the network it cannot reach.
import { createHash, X509Certificate } from 'node:crypto';
import { existsSync } from 'node:fs';
import { type Browser, chromium } from 'playwright-core';

export const CHROMIUM = process.env['DGP_CHROMIUM'] ?? '/usr/bin/chromium';

/** Why the browser tests cannot run here, or null. */
export function chromiumMissing(): string | null {
  return existsSync(CHROMIUM) ? null : `${CHROMIUM} is not installed (apt-get install chromium, or set DGP_CHROMIUM)`;
}

/** The base64 SHA-256 of a certificate's public key, as Chromium's SPKI pin list takes it. */
export function spkiPin(certPem: string | Buffer): string {
  const der = new X509Certificate(certPem).publicKey.export({ type: 'spki', format: 'der' });
  return createHash('sha256').update(der).digest('base64');
}

export async function launchChromium(o: { trust?: (string | Buffer)[] } = {}): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync',
      '--disable-default-apps', '--disable-extensions',
      ...(o.trust?.length ? [`--ignore-certificate-errors-spki-list=${o.trust.map(spkiPin).join(',')}`] : []),
    ],
  });
}
