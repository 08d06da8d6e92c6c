// The one report format of the offline commands (`check` over files, `audit` over a live cluster,
// `align` between Talos and Argo CD), and its one output module: text, JSON, and (for objects)
// wgpolicyk8s.io/v1alpha2 PolicyReports. Exit codes are decided here too, the same for all three.
import { stringify } from 'yaml';
import { seeDocs } from '../policy/engine.js';
import type { Finding } from '../policy/types.js';
import { renderGithub } from './annotations.js';

export type Command = 'check' | 'audit' | 'align';

export interface ObjectReport {
  source: string;
  apiVersion?: string;
  kind: string;
  namespace: string;
  name: string;
  uid?: string;
  allowed: boolean;
  findings: Array<Pick<Finding, 'rule' | 'verdict' | 'path' | 'message'> & { value?: unknown; downgrade?: string; docs?: string }>;
  /** JSON Patch the mutating webhook would apply. */
  patch?: unknown[];
}

export type AlignStatus = 'aligned' | 'differs' | 'talos-only' | 'argocd-only';

export interface AlignmentRow {
  /** A Helm values path such as ipam.mode. */
  key: string;
  /** Absent: not set on that side. */
  talos?: unknown;
  argocd?: unknown;
  status: AlignStatus;
  note?: string;
}

export interface Report {
  command: Command;
  /** What was read: files, a cluster context. */
  inputs: string[];
  objects: ObjectReport[];
  alignment: AlignmentRow[];
  /**
   * What the two sides of `alignment` are: Talos' bootstrap values and the Application, or (align
   * --live) what runs and the Application; a row's `talos` holds the left side.
   */
  sides?: { left: string; right: string };
  /** Things worth knowing that are not failures (a CRD that is not installed). */
  notes: string[];
  errors: Array<{ source: string; message: string }>;
  summary: {
    objects: number;
    denied: number;
    warnings: number;
    mutations: number;
    errors: number;
    aligned: number;
    differs: number;
    oneSided: number;
  };
}

export function summarize(
  command: Command,
  parts: { inputs?: string[]; objects?: ObjectReport[]; alignment?: AlignmentRow[]; sides?: Report['sides']; notes?: string[]; errors?: Report['errors'] },
): Report {
  const objects = parts.objects ?? [];
  const alignment = parts.alignment ?? [];
  const errors = parts.errors ?? [];
  const all = objects.flatMap((o) => o.findings);
  return {
    command,
    inputs: parts.inputs ?? [],
    objects,
    alignment,
    ...(parts.sides ? { sides: parts.sides } : {}),
    notes: parts.notes ?? [],
    errors,
    summary: {
      objects: objects.length,
      denied: objects.filter((o) => !o.allowed).length,
      warnings: all.filter((f) => f.verdict === 'warn' || f.verdict === 'break-glass').length,
      mutations: objects.filter((o) => o.patch && o.patch.length > 0).length,
      errors: errors.length,
      aligned: alignment.filter((r) => r.status === 'aligned').length,
      differs: alignment.filter((r) => r.status === 'differs').length,
      oneSided: alignment.filter((r) => r.status === 'talos-only' || r.status === 'argocd-only').length,
    },
  };
}

/**
 * 2: unreadable input, an API error, bad usage; 1: something breaks a rule (a denial, a missing
 * argocd-cm exclusion, a misaligned setting; warnings too with `strict`); 0: clean.
 */
export function exitCode(report: Report, strict = false): number {
  const s = report.summary;
  if (s.errors > 0) return 2;
  if (s.denied > 0 || s.mutations > 0 || s.differs > 0 || s.oneSided > 0) return 1;
  if (strict && s.warnings > 0) return 1;
  return 0;
}

const LABEL: Record<string, string> = {
  deny: 'DENY',
  warn: 'WARN',
  audit: 'AUDIT',
  'break-glass': 'BREAK-GLASS',
  mutate: 'MUTATE',
};

export const STATUS_TEXT: Record<AlignStatus, string> = {
  aligned: 'Aligned',
  differs: 'Differs',
  'talos-only': 'Only on one side (Talos)',
  'argocd-only': 'Only on one side (Argo CD)',
};

/** A value as a person reads it in a table: strings bare unless they would read as something else. */
export function showValue(v: unknown): string {
  if (v === undefined) return '(not set)';
  if (typeof v === 'string') return v === '' || /^(true|false|null|~|[-+.\d].*)$/i.test(v) || /\s/.test(v) ? JSON.stringify(v) : v;
  return JSON.stringify(v);
}

function table(header: string[], rows: string[][]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('  ');
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)];
}

function clipCell(s: string, max = 48): string {
  return s.length > max ? `${s.slice(0, max - 1)}…` : s;
}

/** Clean objects are listed for `check`; `audit` only counts them unless `showClean`. */
export function renderText(report: Report, options: { showClean?: boolean } = {}): string {
  const showClean = options.showClean ?? report.command !== 'audit';
  const lines: string[] = [];
  for (const e of report.errors) lines.push(`ERROR ${e.source}: ${e.message}`);
  for (const n of report.notes) lines.push(`note: ${n}`);
  for (const o of report.objects) {
    const id = `${o.kind} ${o.namespace ? `${o.namespace}/` : ''}${o.name}`;
    if (o.findings.length === 0) {
      if (showClean) lines.push(`ok    ${o.source} ${id}`);
      continue;
    }
    lines.push(`${o.allowed ? 'warn ' : 'FAIL '} ${o.source} ${id}`);
    for (const f of o.findings) lines.push(`  ${LABEL[f.verdict] ?? f.verdict} ${f.rule} ${f.path}: ${f.message}${seeDocs(f)}`);
  }
  const s = report.summary;
  if (report.command === 'align') {
    if (report.alignment.length > 0) {
      lines.push(
        ...table(
          ['Setting', report.sides?.left ?? 'Talos bootstrap', report.sides?.right ?? 'Argo CD', 'Status'],
          report.alignment.map((r) => [
            r.key,
            clipCell(showValue(r.talos)),
            clipCell(showValue(r.argocd)),
            `${STATUS_TEXT[r.status]}${r.note ? ` (${r.note})` : ''}`,
          ]),
        ),
      );
    }
    lines.push(
      `${report.alignment.length} setting(s) compared: ${s.aligned} aligned, ${s.differs} differ, ${s.oneSided} only on one side, ${s.errors} input error(s)` +
        (s.objects > 0 ? `; the webhook would ${s.denied > 0 ? 'deny' : 'admit'} the Application against what runs (${s.warnings} warning(s))` : ''),
    );
  } else {
    lines.push(
      `${s.objects} object(s) checked: ${s.denied} denied, ${s.mutations} need the argocd-cm mutation, ${s.warnings} warning(s), ${s.errors} ${report.command === 'audit' ? 'error(s)' : 'input error(s)'}`,
    );
  }
  return lines.join('\n') + '\n';
}

export function renderJson(report: Report): string {
  return JSON.stringify(report, null, 2) + '\n';
}

// --- PolicyReport (wgpolicyk8s.io/v1alpha2, the format Kyverno and Policy Reporter read) ---

export const POLICY_NAME = 'cilium-guard';
type PRResult = 'pass' | 'fail' | 'warn' | 'error' | 'skip';

function resultOf(verdict: string): PRResult {
  return verdict === 'warn' || verdict === 'break-glass' ? 'warn' : 'fail';
}

function severityOf(verdict: string): string {
  return verdict === 'deny' || verdict === 'mutate' ? 'high' : verdict === 'audit' ? 'medium' : 'low';
}

/**
 * One PolicyReport per namespace that holds a checked object, named `cilium-guard`, with a result
 * per finding (deny, audit and a missing exclusion: fail; warn: warn) and a pass per clean object.
 */
export function renderPolicyReports(report: Report, now = Date.now()): Array<Record<string, unknown>> {
  const timestamp = { seconds: Math.floor(now / 1000), nanos: (now % 1000) * 1_000_000 };
  const byNamespace = new Map<string, ObjectReport[]>();
  for (const o of report.objects) {
    const list = byNamespace.get(o.namespace) ?? [];
    list.push(o);
    byNamespace.set(o.namespace, list);
  }
  const out: Array<Record<string, unknown>> = [];
  for (const [namespace, objects] of [...byNamespace].sort(([a], [b]) => a.localeCompare(b))) {
    const results: Array<Record<string, unknown>> = [];
    for (const o of objects) {
      const resource = {
        ...(o.apiVersion ? { apiVersion: o.apiVersion } : {}),
        kind: o.kind,
        ...(o.namespace ? { namespace: o.namespace } : {}),
        name: o.name,
        ...(o.uid ? { uid: o.uid } : {}),
      };
      const base = { policy: POLICY_NAME, source: POLICY_NAME, category: 'Cilium on Talos', scored: true, timestamp, resources: [resource] };
      if (o.findings.length === 0) {
        results.push({ ...base, rule: 'all', result: 'pass', severity: 'info', message: 'breaks no cilium-guard rule' });
        continue;
      }
      for (const f of o.findings) {
        results.push({
          ...base,
          rule: f.rule,
          result: resultOf(f.verdict),
          severity: severityOf(f.verdict),
          message: f.message,
          properties: { path: f.path, verdict: f.verdict, ...(f.downgrade ? { downgrade: f.downgrade } : {}), ...(f.docs ? { docs: f.docs } : {}) },
        });
      }
    }
    const count = (r: PRResult) => results.filter((x) => x.result === r).length;
    const scoped = namespace !== '';
    out.push({
      apiVersion: 'wgpolicyk8s.io/v1alpha2',
      kind: scoped ? 'PolicyReport' : 'ClusterPolicyReport',
      metadata: {
        name: POLICY_NAME,
        ...(scoped ? { namespace } : {}),
        labels: { 'app.kubernetes.io/managed-by': 'cilium-guard' },
      },
      summary: { pass: count('pass'), fail: count('fail'), warn: count('warn'), error: count('error'), skip: count('skip') },
      results,
    });
  }
  return out;
}

export function renderPolicyReportYaml(report: Report, now = Date.now()): string {
  return renderPolicyReports(report, now)
    .map((doc) => `---\n${stringify(doc, { lineWidth: 0 })}`)
    .join('');
}

export const FORMATS = ['text', 'json', 'policyreport', 'github'] as const;
export type Format = (typeof FORMATS)[number];

/** What the commands print: one entry point for every format. */
export function render(report: Report, format: Format, options: { showClean?: boolean; now?: number } = {}): string {
  if (format === 'json') return renderJson(report);
  if (format === 'policyreport') return renderPolicyReportYaml(report, options.now);
  // GitHub Actions annotations on the files `check` read (annotations.ts), then the text report.
  if (format === 'github') return renderGithub(report, renderText(report, options));
  return renderText(report, options);
}
