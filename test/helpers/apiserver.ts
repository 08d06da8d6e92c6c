// Judges a webhook answer the way kube-apiserver does (reference/apiserver-webhook-protocol.md
// §2): HTTP status, GVK, uid, patch rules per webhook type, patch application, denial mapping.
import fastJsonPatch, { type Operation } from 'fast-json-patch';
import { randomUUID } from 'node:crypto';

export type WebhookType = 'validating' | 'mutating';

export interface Verdict {
  /** What the user would see: allowed, denied by us, or a call failure / internal error. */
  outcome: 'allowed' | 'denied' | 'call-failure' | 'internal-error';
  code?: number;
  message?: string;
  warnings: string[];
  auditAnnotations: Record<string, string>;
  patched?: unknown;
  patch?: Operation[];
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export interface ReviewInput {
  operation: 'CREATE' | 'UPDATE' | 'DELETE';
  object?: Record<string, unknown> | null;
  oldObject?: Record<string, unknown> | null;
  userInfo?: { username?: string; groups?: string[] };
  dryRun?: boolean;
  uid?: string;
}

const RESOURCES: Record<string, { group: string; version: string; resource: string }> = {
  Application: { group: 'argoproj.io', version: 'v1alpha1', resource: 'applications' },
  ApplicationSet: { group: 'argoproj.io', version: 'v1alpha1', resource: 'applicationsets' },
  ConfigMap: { group: '', version: 'v1', resource: 'configmaps' },
};

/** An AdmissionReview shaped as kube-apiserver sends it (§1.5, §1.6). */
export function makeReview(input: ReviewInput): Record<string, unknown> {
  const subject = input.object ?? input.oldObject ?? {};
  const kindName = String(subject.kind ?? 'ConfigMap');
  const gvr = RESOURCES[kindName] ?? { group: 'example.com', version: 'v1', resource: kindName.toLowerCase() + 's' };
  const meta = isObject(subject.metadata) ? subject.metadata : {};
  const kind = { group: gvr.group, version: gvr.version, kind: kindName };
  const optionsKind = input.operation === 'CREATE' ? 'CreateOptions' : input.operation === 'UPDATE' ? 'UpdateOptions' : 'DeleteOptions';
  return {
    kind: 'AdmissionReview',
    apiVersion: 'admission.k8s.io/v1',
    request: {
      uid: input.uid ?? randomUUID(),
      kind,
      resource: gvr,
      requestKind: kind,
      requestResource: gvr,
      ...(typeof meta.name === 'string' ? { name: meta.name } : {}),
      ...(typeof meta.namespace === 'string' ? { namespace: meta.namespace } : {}),
      operation: input.operation,
      userInfo: input.userInfo ?? { username: 'kubernetes-admin', groups: ['system:masters', 'system:authenticated'] },
      object: input.operation === 'DELETE' ? null : (input.object ?? null),
      oldObject: input.operation === 'CREATE' ? null : (input.oldObject ?? null),
      dryRun: input.dryRun ?? false,
      options: { kind: optionsKind, apiVersion: 'meta.k8s.io/v1', ...(input.dryRun ? { dryRun: ['All'] } : {}) },
    },
  };
}

const STD_BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

export function judge(
  review: Record<string, unknown>,
  status: number,
  rawBody: string,
  type: WebhookType,
  webhookName = 'validate.cilium-guard.io',
): Verdict {
  const base = { warnings: [], auditAnnotations: {} };
  const failure = (message: string): Verdict => ({ ...base, outcome: 'call-failure', message });
  if (status < 200 || status > 206) return failure(`HTTP ${status}`);
  if (rawBody.length === 0) return failure('0-length response');
  let body: unknown;
  try {
    body = JSON.parse(rawBody);
  } catch {
    return failure('undecodable body');
  }
  if (!isObject(body)) return failure('body is not an object');
  const response = body.response;
  if (!isObject(response)) return failure('webhook response was absent');
  const request = review.request as Record<string, unknown>;
  if (response.uid !== request.uid) return failure(`expected response.uid="${String(request.uid)}", got "${String(response.uid)}"`);
  if (body.apiVersion !== 'admission.k8s.io/v1' || body.kind !== 'AdmissionReview') {
    return failure('expected webhook response of admission.k8s.io/v1, Kind=AdmissionReview');
  }
  const hasPatch = typeof response.patch === 'string' && response.patch.length > 0;
  if (type === 'mutating') {
    if (hasPatch && response.patchType === undefined) return failure('webhook returned response.patch but not response.patchType');
    if (response.patchType !== undefined && !hasPatch) return failure('webhook returned response.patchType but not response.patch');
  } else {
    if (hasPatch) return failure('validating webhook may not return response.patch');
    if ('patchType' in response) return failure('validating webhook may not return response.patchType');
  }
  const warnings = Array.isArray(response.warnings)
    ? response.warnings.filter((w): w is string => typeof w === 'string' && w !== '' && !/[\u0000-\u001f\u007f]/.test(w))
    : [];
  const auditAnnotations: Record<string, string> = {};
  if (isObject(response.auditAnnotations)) {
    for (const [k, v] of Object.entries(response.auditAnnotations)) {
      if (k.includes('/') || k.length > 63 || !/^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/.test(k)) continue;
      auditAnnotations[`${webhookName}/${k}`] = String(v);
    }
  }
  if (response.allowed !== true) {
    const st = isObject(response.status) ? response.status : {};
    const code = typeof st.code === 'number' && st.code >= 400 ? st.code : 400;
    const text = typeof st.message === 'string' && st.message !== '' ? st.message : typeof st.reason === 'string' ? st.reason : '';
    const message = text ? `admission webhook "${webhookName}" denied the request: ${text}` : `admission webhook "${webhookName}" denied the request without explanation`;
    return { outcome: 'denied', code, message, warnings, auditAnnotations };
  }
  if (!hasPatch) return { outcome: 'allowed', warnings, auditAnnotations };
  if (!STD_BASE64.test(response.patch as string)) return failure('patch is not standard base64');
  let ops: unknown;
  try {
    ops = JSON.parse(Buffer.from(response.patch as string, 'base64').toString('utf8'));
  } catch {
    return failure('received undecodable patch in webhook response');
  }
  if (!Array.isArray(ops)) return failure('received undecodable patch in webhook response');
  if (ops.length === 0) return { outcome: 'allowed', warnings, auditAnnotations };
  if (response.patchType !== 'JSONPatch') return failure(`unsupported patch type "${String(response.patchType)}"`);
  const object = request.object;
  if (!isObject(object)) {
    return { ...base, outcome: 'internal-error', code: 500, message: 'attempted to modify the object, which is not supported for this operation' };
  }
  try {
    const result = fastJsonPatch.applyPatch(structuredClone(object), ops as Operation[], true, false);
    return { outcome: 'allowed', warnings, auditAnnotations, patched: result.newDocument, patch: ops as Operation[] };
  } catch (err) {
    return { ...base, outcome: 'internal-error', code: 500, message: `patch does not apply: ${(err as Error).message}` };
  }
}
