// What the shared certificate Secret needs next, decided from its contents, what the webhook
// configurations already trust, and the time. No I/O: the manager carries the step out.
//
// Secret keys: ca.crt (every CA the webhooks should trust, newest first), signing-ca.crt and
// signing-ca.key (the CA that signs new serving certificates), tls.crt and tls.key (what every
// replica serves). Annotation ROTATED_AT records when the signing CA was last replaced.
//
// Rotation never makes a replica serve a certificate the API server cannot verify: a new CA first
// joins the bundle beside the old one; only after the webhook configurations carry it, and
// `overlapMs` has passed, is a serving certificate signed by it issued. Old CAs leave the bundle
// once nothing served can depend on them.
import { type CertInfo, keyMatches, parseBundle, parseCert, signedBy } from './pki.js';

export const ROTATED_AT = 'cilium-guard.io/ca-rotated-at';

export interface RotationOptions {
  caValidityMs: number;
  certValidityMs: number;
  /** Renew when less than this fraction of a certificate's lifetime is left. */
  renewFraction: number;
  overlapMs: number;
  /** How long a previous CA stays after the first serving certificate from its successor: long
   *  enough for every replica to load that certificate (a few check intervals). */
  retireAfterMs: number;
  dnsNames: string[];
  ips?: string[];
}

export interface SecretState {
  data: Record<string, string>;
  rotatedAt?: number;
}

export interface ParsedState {
  bundle: CertInfo[];
  signing: CertInfo | null;
  signingKeyOk: boolean;
  serving: CertInfo | null;
  servingKeyOk: boolean;
}

export function parseState(data: Record<string, string>): ParsedState {
  const signing = data['signing-ca.crt'] ? parseCert(data['signing-ca.crt']) : null;
  const serving = data['tls.crt'] ? parseCert(data['tls.crt']) : null;
  return {
    bundle: parseBundle(data['ca.crt'] ?? ''),
    signing,
    signingKeyOk: !!signing && !!data['signing-ca.key'] && keyMatches(signing, data['signing-ca.key']),
    serving,
    servingKeyOk: !!serving && !!data['tls.key'] && keyMatches(serving, data['tls.key']),
  };
}

export type Step =
  | { kind: 'bootstrap'; reason: string }
  | { kind: 'rotate-ca'; reason: string }
  | { kind: 'issue-serving'; reason: string }
  | { kind: 'prune'; reason: string; keep: CertInfo[] }
  | { kind: 'wait'; reason: string }
  | { kind: 'none' };

function renewAt(c: CertInfo, fraction: number): number {
  return c.notAfter - (c.notAfter - c.notBefore) * fraction;
}

function coversNames(c: CertInfo, names: string[]): boolean {
  return names.every((n) => c.dnsNames.includes(n));
}

/**
 * The next step. `trusted` holds the fingerprints of CAs that every guarded webhook configuration
 * already has in its caBundle (null when there are no webhook configurations to wait for).
 */
export function nextStep(state: SecretState, trusted: Set<string> | null, now: number, opts: RotationOptions): Step {
  const p = parseState(state.data);
  if (!p.signing || !p.signingKeyOk || !p.signing.isCA) {
    return { kind: 'bootstrap', reason: Object.keys(state.data).length === 0 ? 'the Secret is empty' : 'the signing CA is missing or does not match its key' };
  }
  if (p.signing.notAfter <= now) return { kind: 'bootstrap', reason: 'the signing CA has expired' };
  if (!p.bundle.some((c) => c.fingerprint === p.signing?.fingerprint)) {
    return { kind: 'bootstrap', reason: 'the CA bundle lacks the signing CA' };
  }
  if (now >= renewAt(p.signing, opts.renewFraction)) {
    return { kind: 'rotate-ca', reason: `the signing CA expires ${new Date(p.signing.notAfter).toISOString()}` };
  }

  const serving = p.serving;
  const broken =
    !serving || !p.servingKeyOk ? 'there is no usable serving certificate'
    : serving.notAfter <= now ? 'the serving certificate has expired'
    : !coversNames(serving, opts.dnsNames) ? `the serving certificate does not name ${opts.dnsNames.join(', ')}`
    : !p.bundle.some((ca) => signedBy(serving, ca)) ? 'the serving certificate is signed by no CA in the bundle'
    : null;
  // Serving nothing valid is worse than a short window before the webhooks trust the new one.
  if (broken) return { kind: 'issue-serving', reason: broken };

  const signingTrusted = trusted === null || trusted.has(p.signing.fingerprint);
  const sinceRotation = state.rotatedAt === undefined ? Infinity : now - state.rotatedAt;
  if (!signedBy(serving!, p.signing)) {
    if (!signingTrusted) return { kind: 'wait', reason: 'the new CA is not in every webhook caBundle yet' };
    if (sinceRotation < opts.overlapMs) return { kind: 'wait', reason: 'the new CA is still propagating to the API servers' };
    return { kind: 'issue-serving', reason: 'the serving certificate was signed by the previous CA' };
  }
  if (now >= renewAt(serving!, opts.renewFraction)) {
    if (!signingTrusted) return { kind: 'wait', reason: 'the signing CA is not in every webhook caBundle yet' };
    return { kind: 'issue-serving', reason: `the serving certificate expires ${new Date(serving!.notAfter).toISOString()}` };
  }

  // Drop CAs that expired, and previous CAs once every replica has had time to load a serving
  // certificate from the current one.
  const servingAge = now - serving!.notBefore;
  const keep = p.bundle.filter(
    (c) => c.notAfter > now && (c.fingerprint === p.signing?.fingerprint || servingAge < opts.retireAfterMs),
  );
  if (keep.length !== p.bundle.length) return { kind: 'prune', reason: 'previous or expired CAs left the bundle', keep };
  return { kind: 'none' };
}
