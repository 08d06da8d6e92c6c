// The policy engine: (request, config) -> Decision. Pure; no I/O and no clock.
//
// Rules yield violations; the engine turns each into a finding with a verdict (the rule's mode,
// capped at "warn" when the violation cannot be proven, or when it already existed before an
// update that did not touch it), applies break-glass, and assembles the decision.
import { ReviewRenderings, applicationViolations, ciliumApplicationReason, deleteViolations, renderedConfigs } from './application.js';
import { applicationSetViolations } from './applicationset.js';
import { ensureExclusion, isArgoCDConfigMap } from './argocd-cm.js';
import {
  ciliumConfigMarker,
  deleteCiliumConfigViolations,
  kubeProxyReplacementViolations,
  misplacedConfigViolations,
} from './cilium-config.js';
import type { ClusterView } from './cluster-view.js';
import type { PolicyConfig } from './config.js';
import { obj, str } from './identify.js';
import { ruleDocsURL } from './rules.js';
import { upgradeViolations } from './upgrade.js';
import { liveViolations } from './live.js';
import { jsonEqual } from './json.js';
import type { Decision, Finding, JsonObject, Mode, PolicyRequest, Verdict, Violation } from './types.js';

type Target = 'application' | 'applicationset' | 'configmap' | null;

/**
 * What a rule may know besides the request and the policy. `cluster` is what runs (the live
 * cilium-config and agent image), gathered outside src/policy and passed in as data; absent when
 * nobody could read it, and then rules comparing with what runs can only warn.
 */
export interface ValidateOptions {
  cluster?: ClusterView;
  /**
   * Where the review keeps what it renders (application.ts); a new one per review unless given.
   * Given by tests, to see which objects shared a rendering.
   */
  renderings?: ReviewRenderings;
}

function targetOf(req: PolicyRequest): Target {
  const { group, kind } = req.kind;
  if (group === 'argoproj.io' && kind === 'Application') return 'application';
  if (group === 'argoproj.io' && kind === 'ApplicationSet') return 'applicationset';
  if (group === '' && kind === 'ConfigMap') return 'configmap';
  return null;
}

function nameOf(req: PolicyRequest): string {
  return req.name || str(obj((req.object ?? req.oldObject)?.metadata).name);
}

function namespaceOf(req: PolicyRequest): string {
  return req.namespace || str(obj((req.object ?? req.oldObject)?.metadata).namespace);
}

/**
 * Fields whose change can alter what Argo CD renders or deletes: spec, operation and the
 * finalizers. Everything else is status. (`spec` is compared first: its answer is used again.)
 */
function onlyStatusChanged(a: JsonObject, b: JsonObject, sameSpec: boolean): boolean {
  return sameSpec && jsonEqual(a.operation, b.operation) && jsonEqual(obj(a.metadata).finalizers, obj(b.metadata).finalizers);
}

/** The same name and namespace: an UPDATE always has them (the API server sees to it), `check` may not. */
function sameIdentity(a: JsonObject, b: JsonObject): boolean {
  const [x, y] = [obj(a.metadata), obj(b.metadata)];
  return x.name === y.name && x.namespace === y.namespace;
}

function applicationRules(
  req: PolicyRequest,
  config: PolicyConfig,
  subject: JsonObject | null,
  context: ValidateOptions,
  specUnchanged: boolean,
): Violation[] | string {
  const reason = ciliumApplicationReason(subject, req.oldObject, config);
  if (!reason) return 'not the Cilium Application';
  if (req.operation === 'DELETE') return req.oldObject ? deleteViolations(req.oldObject, config) : [];
  if (!subject) return [];
  const old = req.operation === 'UPDATE' ? req.oldObject : null;
  // One view of each source for the rules and L1, made for this review and gone with it.
  const review = context.renderings ?? new ReviewRenderings(config);
  // Argo CD's sync (`operation` set on an unchanged spec): the old object's spec renders as the new one's.
  if (specUnchanged && old && sameIdentity(subject, old)) review.sameSpec(old, subject);
  return [
    ...applicationViolations(subject, config, review),
    ...upgradeViolations(subject, old, config, context.cluster),
    ...liveViolations(subject, old, (a, operation) => renderedConfigs(a, config, operation, review), config, context.cluster),
  ];
}

function configMapRules(req: PolicyRequest, config: PolicyConfig, subject: JsonObject | null): Violation[] | string {
  if (nameOf(req) !== config.cilium.configMapName) return 'not a ConfigMap cilium-guard guards';
  const ns = namespaceOf(req);
  if (ns === config.cilium.namespace) {
    if (req.operation === 'DELETE') return deleteCiliumConfigViolations(config);
    return subject ? kubeProxyReplacementViolations(subject, config) : [];
  }
  if (req.operation === 'DELETE' || !subject) return 'removing a misplaced Cilium config is always allowed';
  const marker = ciliumConfigMarker(subject, config);
  return marker ? misplacedConfigViolations(subject, ns, marker, config) : 'an unrelated ConfigMap that shares the name';
}

/** Runs the validating rules that apply to one object (new or old). */
function violationsFor(
  req: PolicyRequest,
  config: PolicyConfig,
  subject: JsonObject | null,
  context: ValidateOptions,
  /** An UPDATE whose object and old object have equal specs (validate() compared them). */
  specUnchanged = false,
): Violation[] | string {
  switch (targetOf(req)) {
    case 'application':
      return applicationRules(req, config, subject, context, specUnchanged);
    case 'applicationset':
      if (req.operation === 'DELETE') return 'deleting an ApplicationSet is judged on its Applications';
      return subject ? applicationSetViolations(subject, config) : [];
    case 'configmap':
      return configMapRules(req, config, subject);
    default:
      return `kind ${req.kind.group}/${req.kind.kind} is not guarded`;
  }
}

/**
 * Same rule, same outcome. A rule that says what it is about (`subject`: the effective release
 * namespace, the agent's kube-proxy replacement) compares what the old object rendered with what
 * the new one renders, whichever field or source produces it; others compare the same field (spec,
 * or the operation that copies it).
 */
function ratchetKey(v: Violation): string {
  const place = v.subject ?? v.path.replace(/^operation\.sync\./, 'spec.').replace(/^spec\.template\./, '');
  return `${v.rule}|${place}|${JSON.stringify(v.value ?? null)}`;
}

const STRENGTH: Record<Mode, number> = { audit: 0, warn: 1, deny: 2 };

function capAtWarn(mode: Mode): Mode {
  return STRENGTH[mode] > STRENGTH.warn ? 'warn' : mode;
}

export function isBreakGlass(req: PolicyRequest, config: PolicyConfig): boolean {
  const groups = req.userInfo.groups ?? [];
  return (
    groups.some((g) => config.breakGlass.groups.includes(g)) ||
    (req.userInfo.username !== undefined && config.breakGlass.users.includes(req.userInfo.username))
  );
}

export function toFindings(
  violations: Violation[],
  req: PolicyRequest,
  config: PolicyConfig,
  previous: Set<string> = new Set(),
): Finding[] {
  const breakGlass = isBreakGlass(req, config);
  return violations.map((v) => {
    let mode = config.rules[v.rule].mode;
    let downgrade: Finding['downgrade'];
    if (!v.certain && STRENGTH[mode] > STRENGTH.warn) {
      mode = capAtWarn(mode);
      downgrade = 'unverifiable';
    } else if (mode === 'deny' && previous.has(ratchetKey(v))) {
      mode = 'warn';
      downgrade = 'pre-existing';
    }
    let verdict: Verdict = mode;
    if (verdict === 'deny' && breakGlass) {
      verdict = 'break-glass';
      downgrade = 'break-glass';
    }
    const docs = ruleDocsURL(v.rule, config);
    return { ...v, verdict, ...(downgrade ? { downgrade } : {}), ...(docs ? { docs } : {}) };
  });
}

function warningText(f: Finding): string {
  const prefix =
    f.downgrade === 'break-glass'
      ? `[cilium-guard ${f.rule}] allowed by break-glass, would be denied: `
      : f.downgrade === 'pre-existing'
        ? `[cilium-guard ${f.rule}] pre-existing, not changed by this update: `
        : `[cilium-guard ${f.rule}] `;
  return prefix + f.message + seeDocs(f);
}

/** ` (see URL)` after a finding's message in what people read: denials, warnings, Events. */
export function seeDocs(f: Pick<Finding, 'docs'>): string {
  return f.docs ? ` (see ${f.docs})` : '';
}

export function decide(findings: Finding[], subject: string): Decision {
  const denials = findings.filter((f) => f.verdict === 'deny');
  const warnings = findings.filter((f) => f.verdict === 'warn' || f.verdict === 'break-glass').map(warningText);
  if (denials.length === 0) return { allowed: true, findings, warnings };
  // The page is named once per rule, after that rule's last denial.
  const last = new Map(denials.map((f, i) => [f.rule, i]));
  const message =
    `cilium-guard denied ${subject}: ` +
    denials.map((f, i) => `[${f.rule}] ${f.message}${last.get(f.rule) === i ? seeDocs(f) : ''}`).join('; ');
  return { allowed: false, findings, warnings, message };
}

function describeSubject(req: PolicyRequest): string {
  const ns = namespaceOf(req);
  return `${req.kind.kind} ${ns ? `${ns}/` : ''}${nameOf(req)}`;
}

/** The validating webhook: R1-R5, V1, D1, C1, C2. Never mutates. */
export function validate(req: PolicyRequest, config: PolicyConfig, options: ValidateOptions = {}): Decision {
  const target = targetOf(req);
  if (req.operation === 'CONNECT') return { allowed: true, findings: [], warnings: [], skipped: 'CONNECT is not guarded' };
  if (req.subResource) return { allowed: true, findings: [], warnings: [], skipped: `subresource ${req.subResource}` };
  let sameSpec = false;
  if (target === 'application' && req.operation === 'UPDATE') {
    sameSpec = jsonEqual(req.object?.spec, req.oldObject?.spec);
    if (onlyStatusChanged(req.object ?? {}, req.oldObject ?? {}, sameSpec)) return { allowed: true, findings: [], warnings: [], skipped: 'status-only update' };
  }
  const subject = req.operation === 'DELETE' ? null : req.object;
  const found = violationsFor(req, config, subject, options, sameSpec);
  if (typeof found === 'string') return { allowed: true, findings: [], warnings: [], skipped: found };

  let previous = new Set<string>();
  // The old object matters only to a certain denial (toFindings downgrades nothing else), so an
  // update that finds none, or only warnings, is not judged twice.
  const ratchetable = found.some((v) => v.certain && config.rules[v.rule].mode === 'deny');
  if (req.operation === 'UPDATE' && req.oldObject && ratchetable) {
    const before = violationsFor({ ...req, object: req.oldObject }, config, req.oldObject, options);
    // Only what the old object really rendered counts: a source Argo CD ignored, or a value that
    // could not be known, was never live, so making it live is a change.
    if (typeof before !== 'string') previous = new Set(before.filter((v) => v.certain).map(ratchetKey));
  }
  return decide(toFindings(found, req, config, previous), describeSubject(req));
}

/** The mutating webhook: M1 on argocd-cm. Never patches a DELETE. */
export function mutate(req: PolicyRequest, config: PolicyConfig): Decision {
  if (targetOf(req) !== 'configmap' || !req.object || req.subResource || (req.operation !== 'CREATE' && req.operation !== 'UPDATE')) {
    return { allowed: true, findings: [], warnings: [], skipped: 'nothing to mutate' };
  }
  if (!isArgoCDConfigMap(req.object, namespaceOf(req), config)) {
    return { allowed: true, findings: [], warnings: [], skipped: `not Argo CD's ${config.argocd.configMapName}` };
  }
  const result = ensureExclusion(req.object, config);
  if (result.kind === 'covered') {
    return { allowed: true, findings: [], warnings: [], skipped: 'exclusion already present' };
  }
  const [finding] = toFindings([result.violation], { ...req, userInfo: {} }, config);
  if (!finding) return { allowed: true, findings: [], warnings: [] };
  // For a mutating rule, "deny" means enforce: patch the object, never refuse it.
  if (result.kind === 'missing' && result.patched && finding.verdict === 'deny') {
    return {
      allowed: true,
      findings: [{ ...finding, verdict: 'mutate' }],
      warnings: [`[cilium-guard M1] added ${JSON.stringify(config.argocd.exclusion)} to resource.exclusions; Argo CD's application controller applies it without a restart (it rebuilds its cluster cache when argocd-cm changes)${seeDocs(finding)}`],
      patched: result.patched,
    };
  }
  const shown = finding.verdict === 'deny' ? { ...finding, verdict: 'warn' as const } : finding;
  return { allowed: true, findings: [shown], warnings: shown.verdict === 'warn' ? [warningText(shown)] : [] };
}
