// Serving-certificate reload without a restart: poll the files, and swap the secure context only
// when the new pair loads, so a half-written rotation never breaks a handshake.
import { readFileSync, unwatchFile, watchFile } from 'node:fs';
import type { Server as HttpsServer } from 'node:https';
import { createSecureContext } from 'node:tls';
import type { Logger } from 'pino';
import { TLS_CIPHERS } from './app.js';

export function watchCertificates(
  server: HttpsServer,
  files: { cert: string; key: string },
  logger: Logger,
  intervalMs = 5000,
): () => void {
  let last = '';
  const reload = (): void => {
    try {
      const cert = readFileSync(files.cert, 'utf8');
      const key = readFileSync(files.key, 'utf8');
      const fingerprint = cert + key;
      if (fingerprint === last) return;
      const options = { cert, key, minVersion: 'TLSv1.2' as const, ciphers: TLS_CIPHERS, honorCipherOrder: true };
      createSecureContext(options); // throws on a mismatched or partial pair
      if (last !== '') {
        server.setSecureContext(options);
        logger.info({ cert: files.cert }, 'serving certificate reloaded');
      }
      last = fingerprint;
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
