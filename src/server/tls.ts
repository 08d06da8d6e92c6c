// Serving-certificate reload without a restart: poll the files, and swap the secure context only
// when the new pair loads, so a half-written rotation never breaks a handshake.
import { X509Certificate } from 'node:crypto';
import { readFileSync, unwatchFile, watchFile } from 'node:fs';
import type { Server as HttpsServer } from 'node:https';
import { createSecureContext } from 'node:tls';
import type { Logger } from 'pino';
import { TLS_CIPHERS } from './app.js';

/** Swaps the serving certificate for new connections; throws (keeping the old one) on a bad pair. */
export function setServingCertificate(server: HttpsServer, pair: { cert: string; key: string }): void {
  const options = { cert: pair.cert, key: pair.key, minVersion: 'TLSv1.2' as const, ciphers: TLS_CIPHERS, honorCipherOrder: true };
  createSecureContext(options); // throws on a mismatched or partial pair
  server.setSecureContext(options);
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
