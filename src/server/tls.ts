// The HTTPS side of the server: TLS options (minimum version, suites, the client CA), serving
// certificate and client CA reload without a restart (poll the files, and swap the secure context
// only when the new material loads, so a half-written rotation never breaks a handshake), and who
// the caller of a review is (the API server's client certificate, when client authentication is on).
import { X509Certificate } from 'node:crypto';
import { readFileSync, unwatchFile, watchFile } from 'node:fs';
import type { Server as HttpsServer } from 'node:https';
import { createSecureContext, type SecureContextOptions, type TLSSocket } from 'node:tls';
import type { Logger } from 'pino';

/** TLS 1.2 suites when 1.2 is allowed: forward-secret AEAD only (TLS 1.3 suites are always on). */
export const TLS_CIPHERS = [
  'ECDHE-ECDSA-AES128-GCM-SHA256',
  'ECDHE-RSA-AES128-GCM-SHA256',
  'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-CHACHA20-POLY1305',
  'ECDHE-RSA-CHACHA20-POLY1305',
].join(':');

export type TlsMinVersion = 'TLSv1.2' | 'TLSv1.3';
/** TLS 1.3 by default, as Gatekeeper; the API server (Go) speaks it. 1.2 stays an option. */
export const DEFAULT_TLS_MIN_VERSION: TlsMinVersion = 'TLSv1.3';
/** The name the API server's client certificate carries by default (Gatekeeper's --client-cn-name). */
export const DEFAULT_CLIENT_NAMES = ['kube-apiserver'];

export interface TlsSettings {
  minVersion: TlsMinVersion;
  /** PEM bundle of the CAs a caller's client certificate must chain to; unset: no client auth. */
  clientCA?: string;
}

interface ServerTls {
  pair: { cert: string | Buffer; key: string | Buffer };
  settings: TlsSettings;
}
const state = new WeakMap<HttpsServer, ServerTls>();

/** The secure-context options for a pair and the settings (what https.createServer takes, too). */
export function contextOptions(pair: { cert: string | Buffer; key: string | Buffer }, settings: TlsSettings): SecureContextOptions {
  return {
    cert: pair.cert,
    key: pair.key,
    minVersion: settings.minVersion,
    ciphers: TLS_CIPHERS,
    honorCipherOrder: true,
    ...(settings.clientCA ? { ca: pemBlocks(settings.clientCA) } : {}),
  };
}

/** The certificates of a PEM bundle, one string each: a bundle concatenated without a newline still reads. */
export function pemBlocks(bundle: string): string[] {
  return bundle.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? [];
}

/**
 * The server options for https.createServer. With a client CA the certificate is requested but not
 * required at the TLS level: the probes (kubelet, no certificate) still connect, and the review
 * routes refuse a caller without a verified certificate (see callerOf).
 */
export function serverOptions(pair: { cert: string | Buffer; key: string | Buffer }, settings: TlsSettings) {
  return { ...contextOptions(pair, settings), ...(settings.clientCA ? { requestCert: true, rejectUnauthorized: false } : {}) };
}

/** Remembers what the server was started with, so a later swap of one part keeps the other. */
export function trackServer(server: HttpsServer, pair: ServerTls['pair'], settings: TlsSettings): void {
  state.set(server, { pair, settings });
}

function swap(server: HttpsServer, next: ServerTls): void {
  const options = contextOptions(next.pair, next.settings);
  createSecureContext(options); // throws on a mismatched or partial pair, or an unreadable CA
  server.setSecureContext(options);
  state.set(server, next);
}

/** Swaps the serving certificate for new connections; throws (keeping the old one) on a bad pair. */
export function setServingCertificate(server: HttpsServer, pair: { cert: string; key: string }): void {
  const settings = state.get(server)?.settings ?? { minVersion: DEFAULT_TLS_MIN_VERSION };
  swap(server, { pair, settings });
}

/**
 * Swaps the client CA for new connections; throws (keeping the old one) on a bundle without a
 * certificate. Client authentication can be changed, not switched on or off: the server must have
 * been started with a client CA (requestCert is fixed when it is created).
 */
export function setClientCA(server: HttpsServer, ca: string): void {
  const current = state.get(server);
  if (!current?.settings.clientCA) throw new Error('the server was started without client authentication');
  if (!hasCertificate(ca)) throw new Error('the client CA file holds no certificate');
  swap(server, { pair: current.pair, settings: { ...current.settings, clientCA: ca } });
}

function hasCertificate(pem: string): boolean {
  const blocks = pemBlocks(pem);
  try {
    for (const b of blocks) new X509Certificate(b);
    return blocks.length > 0;
  } catch {
    return false;
  }
}

/** Expiry of the first certificate in a PEM, in milliseconds since the epoch (NaN if unreadable). */
export function expiryOf(cert: string): number {
  try {
    return Date.parse(new X509Certificate(cert).validTo);
  } catch {
    return NaN;
  }
}

export function watchCertificates(
  server: HttpsServer,
  files: { cert: string; key: string },
  logger: Logger,
  intervalMs = 5000,
  onLoaded?: (pair: { cert: string; key: string }) => void,
): () => void {
  let last = '';
  const reload = (): void => {
    try {
      const cert = readFileSync(files.cert, 'utf8');
      const key = readFileSync(files.key, 'utf8');
      const fingerprint = cert + key;
      if (fingerprint === last) return;
      if (last !== '') {
        setServingCertificate(server, { cert, key });
        logger.info({ cert: files.cert }, 'serving certificate reloaded');
      } else {
        createSecureContext({ cert, key }); // the server was started with this pair: only check it
      }
      last = fingerprint;
      onLoaded?.({ cert, key });
    } catch (err) {
      logger.warn({ err, cert: files.cert }, 'serving certificate not reloaded; keeping the current one');
    }
  };
  reload();
  watchFile(files.cert, { interval: intervalMs }, reload);
  watchFile(files.key, { interval: intervalMs }, reload);
  return () => {
    unwatchFile(files.cert, reload);
    unwatchFile(files.key, reload);
  };
}

/** Re-reads the client CA file when it changes (a rotated CA bundle in a mounted Secret or ConfigMap). */
export function watchClientCA(server: HttpsServer, file: string, logger: Logger, intervalMs = 5000, onLoaded?: (ca: string) => void): () => void {
  let last = readFileSync(file, 'utf8'); // the server was started with this bundle
  onLoaded?.(last);
  const reload = (): void => {
    try {
      const ca = readFileSync(file, 'utf8');
      if (ca === last) return;
      setClientCA(server, ca);
      last = ca;
      logger.info({ clientCA: file }, 'client CA reloaded');
      onLoaded?.(ca);
    } catch (err) {
      logger.warn({ err, clientCA: file }, 'client CA not reloaded; keeping the current one');
    }
  };
  watchFile(file, { interval: intervalMs }, reload);
  return () => unwatchFile(file, reload);
}

/** Who sent a review: a verified client certificate with an allowed name, or nobody we know. */
export type Caller =
  | { kind: 'authenticated'; name: string }
  | { kind: 'unauthenticated' }
  | { kind: 'refused'; status: 401 | 403; reason: string };

/**
 * The caller of a request on this socket. Without client authentication every caller is
 * `unauthenticated` (answered, but never trusted to speak for the cluster). With it, a connection
 * without a certificate is refused 401, one whose certificate does not chain to the client CA or
 * names no allowed name 403. An allowed name is the certificate's subject CN (as Gatekeeper) or
 * one of its DNS SANs.
 */
export function callerOf(socket: TLSSocket | undefined, names: readonly string[] | undefined): Caller {
  if (!names) return { kind: 'unauthenticated' };
  if (!socket || typeof socket.getPeerCertificate !== 'function') return { kind: 'refused', status: 401, reason: 'no TLS connection' };
  const peer = socket.getPeerCertificate();
  if (!peer || Object.keys(peer).length === 0) return { kind: 'refused', status: 401, reason: 'a client certificate is required' };
  if (!socket.authorized) return { kind: 'refused', status: 403, reason: `the client certificate is not trusted (${String(socket.authorizationError)})` };
  const cn = Array.isArray(peer.subject?.CN) ? peer.subject.CN : peer.subject?.CN ? [peer.subject.CN] : [];
  const sans = (peer.subjectaltname ?? '')
    .split(', ')
    .filter((s) => s.startsWith('DNS:'))
    .map((s) => s.slice(4));
  const name = [...cn, ...sans].find((n) => names.includes(n));
  if (name === undefined) return { kind: 'refused', status: 403, reason: `the client certificate names none of ${names.join(', ')}` };
  return { kind: 'authenticated', name };
}
