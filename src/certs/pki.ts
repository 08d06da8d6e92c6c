// Certificates for the webhook: a CA and serving certificates it signs (EC P-256, SHA-256, via
// selfsigned), and what we need to know about a PEM certificate to decide when to renew it.
import { X509Certificate, createPrivateKey, randomBytes } from 'node:crypto';
import selfsigned from 'selfsigned';

export interface KeyPair {
  cert: string;
  key: string;
}

/** Backdating covers clock skew between the replica that issues and the API server that verifies. */
const BACKDATE_MS = 60_000;

function window(validityMs: number, now: number, notAfterCap?: Date): { notBeforeDate: Date; notAfterDate: Date } {
  const notBeforeDate = new Date(now - BACKDATE_MS);
  let notAfterDate = new Date(now + validityMs);
  if (notAfterCap && notAfterCap < notAfterDate) notAfterDate = notAfterCap;
  return { notBeforeDate, notAfterDate };
}

/** `now` exists for tests that move the clock; certificates are dated from it. */
export async function generateCA(options: { validityMs: number; commonName?: string; now?: number }): Promise<KeyPair> {
  // Old and new CA sit side by side in the caBundle during a rotation. Without key identifiers
  // (selfsigned writes none) verifiers choose the issuer by subject, so each CA gets its own:
  // OpenSSL otherwise tries the wrong one and fails with "certificate signature failure".
  const now = options.now ?? Date.now();
  const commonName = `${options.commonName ?? 'cilium-guard CA'} ${new Date(now).toISOString().slice(0, 10)} ${randomBytes(4).toString('hex')}`;
  const ca = await selfsigned.generate([{ name: 'commonName', value: commonName }], {
    keyType: 'ec',
    algorithm: 'sha256',
    ...window(options.validityMs, now),
    extensions: [
      { name: 'basicConstraints', cA: true, pathLenConstraint: 0, critical: true },
      { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
    ],
  });
  return { cert: ca.cert, key: ca.private };
}

/** A serving certificate signed by `ca`, never valid beyond the CA itself. */
export async function issueServing(options: {
  ca: KeyPair;
  dnsNames: string[];
  ips?: string[];
  validityMs: number;
  now?: number;
}): Promise<KeyPair> {
  const caNotAfter = new Date(new X509Certificate(options.ca.cert).validTo);
  const ips = options.ips ?? [];
  const leaf = await selfsigned.generate([{ name: 'commonName', value: options.dnsNames[0] ?? ips[0] ?? 'cilium-guard' }], {
    keyType: 'ec',
    algorithm: 'sha256',
    ...window(options.validityMs, options.now ?? Date.now(), caNotAfter),
    ca: { key: options.ca.key, cert: options.ca.cert },
    extensions: [
      { name: 'basicConstraints', cA: false, critical: true },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
      { name: 'extKeyUsage', serverAuth: true },
      {
        name: 'subjectAltName',
        altNames: [
          ...options.dnsNames.map((value) => ({ type: 2 as const, value })),
          ...ips.map((ip) => ({ type: 7 as const, ip })),
        ],
      },
    ],
  });
  return { cert: leaf.cert, key: leaf.private };
}

export interface CertInfo {
  pem: string;
  notBefore: number;
  notAfter: number;
  fingerprint: string;
  isCA: boolean;
  dnsNames: string[];
  x509: X509Certificate;
}

/** Each certificate in a PEM bundle; blocks that do not parse are left out. */
export function parseBundle(pem: string): CertInfo[] {
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  const out: CertInfo[] = [];
  for (const block of blocks) {
    const info = parseCert(block);
    if (info) out.push(info);
  }
  return out;
}

export function parseCert(pem: string): CertInfo | null {
  try {
    const x509 = new X509Certificate(pem);
    const dnsNames = (x509.subjectAltName ?? '')
      .split(', ')
      .filter((s) => s.startsWith('DNS:'))
      .map((s) => s.slice(4));
    return {
      pem: x509.toString(),
      notBefore: Date.parse(x509.validFrom),
      notAfter: Date.parse(x509.validTo),
      fingerprint: x509.fingerprint256,
      isCA: x509.ca,
      dnsNames,
      x509,
    };
  } catch {
    return null;
  }
}

/** True when `key` is the private key of `cert`. */
export function keyMatches(cert: CertInfo, keyPem: string): boolean {
  try {
    return cert.x509.checkPrivateKey(createPrivateKey(keyPem));
  } catch {
    return false;
  }
}

/** True when `ca` issued and signed `leaf`. */
export function signedBy(leaf: CertInfo, ca: CertInfo): boolean {
  try {
    return leaf.x509.checkIssued(ca.x509) && leaf.x509.verify(ca.x509.publicKey);
  } catch {
    return false;
  }
}

export function joinBundle(certs: CertInfo[]): string {
  return certs.map((c) => c.pem.trim() + '\n').join('');
}
