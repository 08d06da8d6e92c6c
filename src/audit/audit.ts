// One structured audit record per deny, warn, audit, break-glass and mutation hit.
// Schema (stable; log pipelines alert on `event`):
//   event: "cilium-guard.audit", webhook: validate|mutate|check, rule, verdict, downgrade?,
//   kind, namespace, name, operation, user, groups, dryRun, uid, path, value, message,
//   caller? (authenticated | unauthenticated: whether the API server was verified to have sent the
//   review; without client authentication, user and groups are only what the body claims)
import type { Logger } from 'pino';
import type { Finding, PolicyRequest } from '../policy/types.js';

export const AUDIT_EVENT = 'cilium-guard.audit';
const MAX_VALUE_CHARS = 512;

export interface AuditRecord {
  event: typeof AUDIT_EVENT;
  webhook: 'validate' | 'mutate' | 'check';
  rule: string;
  verdict: string;
  downgrade?: string;
  kind: string;
  namespace: string;
  name: string;
  operation: string;
  user: string;
  groups: string[];
  dryRun: boolean;
  uid: string;
  path: string;
  value?: string;
  message: string;
  caller?: 'authenticated' | 'unauthenticated';
}

function clip(value: unknown): string | undefined {
  if (value === undefined) return undefined;
  const s = typeof value === 'string' ? value : JSON.stringify(value);
  return s.length > MAX_VALUE_CHARS ? `${s.slice(0, MAX_VALUE_CHARS)}… (${s.length} chars)` : s;
}

export function auditRecords(
  webhook: AuditRecord['webhook'],
  req: PolicyRequest,
  uid: string,
  findings: Finding[],
  caller?: AuditRecord['caller'],
): AuditRecord[] {
  const meta = ((req.object ?? req.oldObject)?.metadata ?? {}) as { name?: unknown; namespace?: unknown };
  return findings.map((f) => {
    const record: AuditRecord = {
      event: AUDIT_EVENT,
      webhook,
      rule: f.rule,
      verdict: f.verdict,
      kind: req.kind.kind,
      namespace: req.namespace || (typeof meta.namespace === 'string' ? meta.namespace : ''),
      name: req.name || (typeof meta.name === 'string' ? meta.name : ''),
      operation: req.operation,
      user: req.userInfo.username ?? '',
      groups: req.userInfo.groups ?? [],
      dryRun: req.dryRun,
      uid,
      path: f.path,
      message: f.message,
    };
    const value = clip(f.value);
    if (value !== undefined) record.value = value;
    if (f.downgrade) record.downgrade = f.downgrade;
    if (caller) record.caller = caller;
    return record;
  });
}

export function writeAudit(logger: Logger, records: AuditRecord[]): void {
  for (const r of records) logger.info(r, `${r.verdict} ${r.rule} ${r.kind} ${r.namespace}/${r.name}`);
}
