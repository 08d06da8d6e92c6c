// Development certificates for `npm start`: a CA and a serving certificate it signs, for
// localhost, 127.0.0.1 and ::1 (plus any extra names). Written once; reused while present.
import { existsSync } from 'node:fs';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { generateCA, issueServing } from './pki.js';

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
export async function generateCertificates(options: { dnsNames: string[]; ips: string[]; days: number }): Promise<GeneratedCertificates> {
  const validityMs = options.days * 86_400_000;
  const ca = await generateCA({ validityMs });
  const leaf = await issueServing({ ca, dnsNames: options.dnsNames, ips: options.ips, validityMs });
  return { caCert: ca.cert, caKey: ca.key, cert: leaf.cert, key: leaf.key };
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
