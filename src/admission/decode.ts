// Checks an incoming AdmissionReview before any rule sees it. Anything malformed is rejected with
// a reason; nothing here throws.
import { isObject } from '../policy/json.js';
import type { Operation, PolicyRequest } from '../policy/types.js';
import { ADMISSION_API_VERSION, type AdmissionRequest } from './types.js';

export type DecodeResult = { ok: true; request: AdmissionRequest; policy: PolicyRequest } | { ok: false; error: string };

const OPERATIONS: ReadonlySet<string> = new Set(['CREATE', 'UPDATE', 'DELETE', 'CONNECT']);

function optionalString(v: unknown): v is string | undefined {
  return v === undefined || typeof v === 'string';
}

export function decodeReview(body: unknown): DecodeResult {
  if (!isObject(body)) return { ok: false, error: 'body must be a JSON object (an AdmissionReview)' };
  if (body.apiVersion !== ADMISSION_API_VERSION || body.kind !== 'AdmissionReview') {
    return {
      ok: false,
      error: `expected apiVersion ${ADMISSION_API_VERSION} and kind AdmissionReview, got ${JSON.stringify(body.apiVersion)} ${JSON.stringify(body.kind)}`,
    };
  }
  const r = body.request;
  if (!isObject(r)) return { ok: false, error: 'request is missing' };
  if (typeof r.uid !== 'string' || r.uid === '') return { ok: false, error: 'request.uid must be a non-empty string' };
  const kind = r.kind;
  if (!isObject(kind) || typeof kind.kind !== 'string' || !optionalString(kind.group) || !optionalString(kind.version)) {
    return { ok: false, error: 'request.kind must be {group, version, kind}' };
  }
  if (typeof r.operation !== 'string' || !OPERATIONS.has(r.operation)) {
    return { ok: false, error: `request.operation must be one of CREATE, UPDATE, DELETE, CONNECT` };
  }
  for (const field of ['object', 'oldObject'] as const) {
    if (r[field] !== undefined && r[field] !== null && !isObject(r[field])) {
      return { ok: false, error: `request.${field} must be an object or null` };
    }
  }
  if (!optionalString(r.name) || !optionalString(r.namespace)) {
    return { ok: false, error: 'request.name and request.namespace must be strings' };
  }
  if (r.userInfo !== undefined && !isObject(r.userInfo)) return { ok: false, error: 'request.userInfo must be an object' };
  const ui = isObject(r.userInfo) ? r.userInfo : {};
  const groups = Array.isArray(ui.groups) ? ui.groups.filter((g): g is string => typeof g === 'string') : [];
  const userInfo = {
    ...(typeof ui.username === 'string' ? { username: ui.username } : {}),
    ...(typeof ui.uid === 'string' ? { uid: ui.uid } : {}),
    groups,
  };
  if (r.dryRun !== undefined && r.dryRun !== null && typeof r.dryRun !== 'boolean') {
    return { ok: false, error: 'request.dryRun must be a boolean' };
  }
  const object = isObject(r.object) ? r.object : null;
  const oldObject = isObject(r.oldObject) ? r.oldObject : null;
  const operation = r.operation as Operation;
  const gvk = { group: kind.group ?? '', version: kind.version ?? '', kind: kind.kind };
  const request: AdmissionRequest = {
    uid: r.uid,
    kind: gvk,
    operation,
    userInfo,
    object,
    oldObject,
    dryRun: r.dryRun === true,
    ...(r.name !== undefined ? { name: r.name } : {}),
    ...(r.namespace !== undefined ? { namespace: r.namespace } : {}),
    ...(typeof r.subResource === 'string' ? { subResource: r.subResource } : {}),
    // CreateOptions/UpdateOptions/DeleteOptions: only logged (fieldManager), never judged.
    ...(isObject(r.options) ? { options: r.options } : {}),
  };
  const policy: PolicyRequest = {
    operation,
    kind: gvk,
    object,
    oldObject,
    userInfo,
    dryRun: request.dryRun,
    ...(typeof r.subResource === 'string' && r.subResource !== '' ? { subResource: r.subResource } : {}),
    ...(r.name !== undefined ? { name: r.name } : {}),
    ...(r.namespace !== undefined ? { namespace: r.namespace } : {}),
  };
  return { ok: true, request, policy };
}
