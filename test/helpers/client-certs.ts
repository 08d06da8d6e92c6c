// Client certificates for tests: what the API server presents to webhooks (kubeConfigFile), signed
// by a CA of the test's own.
import { X509Certificate } from 'node:crypto';
import selfsigned from 'selfsigned';
import { type KeyPair, generateCA } from '../../src/certs/pki.js';

export async function clientCA(): Promise<KeyPair> {
  return generateCA({ validityMs: 86_400_000, commonName: 'test webhook-client CA' });
}

/** A client certificate (extKeyUsage clientAuth) with subject CN `commonName` and optional DNS SANs. */
export async function issueClient(ca: KeyPair, commonName: string, dnsNames: string[] = []): Promise<KeyPair> {
  const caNotAfter = new Date(new X509Certificate(ca.cert).validTo);
  const leaf = await selfsigned.generate([{ name: 'commonName', value: commonName }], {
    keyType: 'ec',
    algorithm: 'sha256',
    notBeforeDate: new Date(Date.now() - 60_000),
    notAfterDate: new Date(Math.min(Date.now() + 86_400_000, caNotAfter.getTime())),
    ca: { key: ca.key, cert: ca.cert },
    extensions: [
      { name: 'basicConstraints', cA: false, critical: true },
      { name: 'keyUsage', digitalSignature: true, critical: true },
      { name: 'extKeyUsage', clientAuth: true },
      ...(dnsNames.length > 0 ? [{ name: 'subjectAltName' as const, altNames: dnsNames.map((value) => ({ type: 2 as const, value })) }] : []),
    ],
  });
  return { cert: leaf.cert, key: leaf.private };
}
