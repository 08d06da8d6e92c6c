// Development certificates for `npm start`: a CA and a serving certificate it signs, for
// localhost, 127.0.0.1 and ::1 (plus any extra names). Written once; reused while present.
import { existsSync } from 'node:fs';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import selfsigned from 'selfsigned';

export interface CertificateFiles {
  ca: string;
  cert: string;
  key: string;
}

export function devCertificatePaths(dir: string): CertificateFiles {
  return { ca: path.join(dir, 'ca.crt'), cert: path.join(dir, 'tls.crt'), key: path.join(dir, 'tls.key') };
}

export interface GeneratedCertificates {
  caCert: string;
  caKey: string;
  cert: string;
  key: string;
}

/** A CA and a serving certificate signed by it, valid for `days`, with the given DNS names and IPs. */
export async function generateCertificates(options: {
  dnsNames: string[];
  ips: string[];
  days: number;
  commonName?: string;
}): Promise<GeneratedCertificates> {
  const notBeforeDate = new Date(Date.now() - 60_000);
  const notAfterDate = new Date(notBeforeDate.getTime() + options.days * 86_400_000);
  const ca = await selfsigned.generate([{ name: 'commonName', value: 'cilium-guard CA' }], {
    keyType: 'ec',
    algorithm: 'sha256',
    notBeforeDate,
    notAfterDate,
    extensions: [
      { name: 'basicConstraints', cA: true, critical: true },
      { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
    ],
  });
  const leaf = await selfsigned.generate(
    [{ name: 'commonName', value: options.commonName ?? options.dnsNames[0] ?? 'cilium-guard' }],
    {
      keyType: 'ec',
      algorithm: 'sha256',
      notBeforeDate,
      notAfterDate,
      ca: { key: ca.private, cert: ca.cert },
      extensions: [
        { name: 'basicConstraints', cA: false, critical: true },
        { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
        { name: 'extKeyUsage', serverAuth: true },
        {
          name: 'subjectAltName',
          altNames: [
            ...options.dnsNames.map((value) => ({ type: 2 as const, value })),
            ...options.ips.map((ip) => ({ type: 7 as const, ip })),
          ],
        },
      ],
    },
  );
  return { caCert: ca.cert, caKey: ca.private, cert: leaf.cert, key: leaf.private };
}

/** Creates certs/ca.crt, tls.crt and tls.key unless they already exist. */
export async function ensureDevCertificates(dir: string, extraNames: string[] = []): Promise<CertificateFiles & { created: boolean }> {
  const files = devCertificatePaths(dir);
  if (existsSync(files.ca) && existsSync(files.cert) && existsSync(files.key)) return { ...files, created: false };
  await mkdir(dir, { recursive: true });
  const certs = await generateCertificates({ dnsNames: ['localhost', ...extraNames], ips: ['127.0.0.1', '::1'], days: 365 });
  await writeFile(files.ca, certs.caCert);
  await writeFile(files.cert, certs.cert);
  await writeFile(files.key, certs.key, { mode: 0o600 });
  await chmod(files.key, 0o600);
  return { ...files, created: true };
}

export async function readPem(file: string): Promise<string> {
  return readFile(file, 'utf8');
}
