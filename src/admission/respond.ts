// Builds the AdmissionReview answer from a Decision, within the limits the API server enforces:
// uid echoed, no patch from a validating webhook, JSONPatch from diffing a mutated copy, warnings
// without control characters and within 4096 runes, audit-annotation keys the API server keeps.
import fastJsonPatch from 'fast-json-patch';
import type { Decision, JsonObject } from '../policy/types.js';
import { ADMISSION_API_VERSION, type AdmissionResponse, type AdmissionReview } from './types.js';

const { compare } = fastJsonPatch;

const WARNING_TOTAL_RUNES = 4096;
const WARNING_ITEM_RUNES = 512;
const AUDIT_KEY = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;

/** Unicode code points (what Go counts as runes) without building an array. */
function runeCount(s: string): number {
  let n = s.length;
  for (let i = 0; i < s.length - 1; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        n--;
        i++;
      }
    }
  }
  return n;
}

const CONTROL = /[\u0000-\u001f\u007f-\u009f]+/g;

/** Control characters make the API server drop a warning silently; replace them instead. */
export function sanitizeWarnings(warnings: string[]): string[] {
  const out: string[] = [];
  const seen = new Set<string>();
  let total = 0;
  for (const w of warnings) {
    let text = w.replace(CONTROL, ' ').trim();
    let count = runeCount(text);
    if (count === 0) continue;
    if (count > WARNING_ITEM_RUNES) {
      text = [...Array.from(text).slice(0, WARNING_ITEM_RUNES - 1), '…'].join('');
      count = WARNING_ITEM_RUNES;
    }
    if (seen.has(text)) continue;
    if (total + count > WARNING_TOTAL_RUNES) {
      out.push(`[cilium-guard] ${warnings.length - out.length} more warning(s) omitted; see the cilium-guard audit log`);
      break;
    }
    seen.add(text);
    total += count;
    out.push(text);
  }
  return out;
}

/** auditAnnotations the API server stores as "<webhook>/<key>": one per rule hit plus the outcome. */
export function auditAnnotations(decision: Decision): Record<string, string> | undefined {
  if (decision.findings.length === 0 && !decision.patched) return undefined;
  const out: Record<string, string> = {};
  const outcome = !decision.allowed
    ? 'denied'
    : decision.findings.some((f) => f.verdict === 'break-glass')
      ? 'allowed-break-glass'
      : decision.patched
        ? 'mutated'
        : 'allowed';
  out.decision = outcome;
  for (const f of decision.findings) {
    const key = `rule.${f.rule}`;
    if (key.length > 63 || !AUDIT_KEY.test(key)) continue;
    const prior = out[key];
    // Strongest verdict wins when a rule fires more than once.
    if (!prior || f.verdict === 'deny') out[key] = f.verdict;
  }
  return out;
}

export function encodeResponse(
  uid: string,
  decision: Decision,
  mutation?: { original: JsonObject | null },
): AdmissionReview {
  const response: AdmissionResponse = { uid, allowed: decision.allowed };
  if (!decision.allowed) {
    response.status = {
      metadata: {},
      status: 'Failure',
      message: decision.message ?? 'denied by cilium-guard',
      reason: 'Forbidden',
      code: 403,
    };
  }
  const warnings = sanitizeWarnings(decision.warnings);
  if (warnings.length > 0) response.warnings = warnings;
  const annotations = auditAnnotations(decision);
  if (annotations) response.auditAnnotations = annotations;
  if (mutation && decision.allowed && decision.patched && mutation.original) {
    const ops = compare(mutation.original, decision.patched);
    if (ops.length > 0) {
      response.patchType = 'JSONPatch';
      response.patch = Buffer.from(JSON.stringify(ops)).toString('base64');
    }
  }
  return { apiVersion: ADMISSION_API_VERSION, kind: 'AdmissionReview', response };
}
