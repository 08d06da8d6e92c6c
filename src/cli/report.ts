// One report format for the offline commands (check now; audit and align later): a list of
// objects, each with its findings, rendered as text or JSON.
import type { Finding } from '../policy/types.js';

export interface ObjectReport {
  source: string;
  kind: string;
  namespace: string;
  name: string;
  allowed: boolean;
  findings: Array<Pick<Finding, 'rule' | 'verdict' | 'path' | 'message'> & { value?: unknown; downgrade?: string }>;
  /** JSON Patch the mutating webhook would apply. */
  patch?: unknown[];
}

export interface Report {
  objects: ObjectReport[];
  errors: Array<{ source: string; message: string }>;
  summary: { objects: number; denied: number; warnings: number; mutations: number; errors: number };
}

export function summarize(objects: ObjectReport[], errors: Report['errors']): Report {
  const all = objects.flatMap((o) => o.findings);
  return {
    objects,
    errors,
    summary: {
      objects: objects.length,
      denied: objects.filter((o) => !o.allowed).length,
      warnings: all.filter((f) => f.verdict === 'warn' || f.verdict === 'break-glass').length,
      mutations: objects.filter((o) => o.patch && o.patch.length > 0).length,
      errors: errors.length,
    },
  };
}

const LABEL: Record<string, string> = {
  deny: 'DENY',
  warn: 'WARN',
  audit: 'AUDIT',
  'break-glass': 'BREAK-GLASS',
  mutate: 'MUTATE',
};

export function renderText(report: Report): string {
  const lines: string[] = [];
  for (const e of report.errors) lines.push(`ERROR ${e.source}: ${e.message}`);
  for (const o of report.objects) {
    const id = `${o.kind} ${o.namespace ? `${o.namespace}/` : ''}${o.name}`;
    if (o.findings.length === 0) {
      lines.push(`ok    ${o.source} ${id}`);
      continue;
    }
    lines.push(`${o.allowed ? 'warn ' : 'FAIL '} ${o.source} ${id}`);
    for (const f of o.findings) lines.push(`  ${LABEL[f.verdict] ?? f.verdict} ${f.rule} ${f.path}: ${f.message}`);
  }
  const s = report.summary;
  lines.push(
    `${s.objects} object(s) checked: ${s.denied} denied, ${s.mutations} need the argocd-cm mutation, ${s.warnings} warning(s), ${s.errors} input error(s)`,
  );
  return lines.join('\n') + '\n';
}

export function renderJson(report: Report): string {
  return JSON.stringify(report, null, 2) + '\n';
}
