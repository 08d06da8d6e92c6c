// ApplicationSet: predict the Applications it will generate, and judge them with the Application
// rules. What can be proven from the object (literal fields, list-generator parameters, a literal
// templatePatch) is judged with the rule's mode; what depends on parameters that only exist at
// generation time is a warning, and the Application webhook judges the generated result. A
// generator's `selector` drops list elements before anything is rendered, exactly as Argo CD does.
import { yamlLimits, type PolicyConfig } from './config.js';
import { applicationViolations } from './application.js';
import { ciliumApplicationReason, isObject, obj, str } from './identify.js';
import type { JsonObject, Violation } from './types.js';
import { parseYaml11 } from './yaml11.js';

const GENERATOR_TYPES = [
  'list',
  'clusters',
  'git',
  'matrix',
  'merge',
  'scmProvider',
  'pullRequest',
  'clusterDecisionResource',
  'plugin',
] as const;

/** Fields mergo treats as one value (a RawExtension or a string), never merged inside. */
const ATOMIC = new Set(['valuesObject']);

function isEmpty(v: unknown): boolean {
  return (
    v === undefined ||
    v === null ||
    v === '' ||
    v === false ||
    v === 0 ||
    (Array.isArray(v) && v.length === 0) ||
    (isObject(v) && Object.keys(v).length === 0)
  );
}

/** mergo.Merge(dst, src): fill only the fields of dst that are empty. The generator's template wins. */
export function mergoFill(dst: JsonObject, src: JsonObject): JsonObject {
  const out: JsonObject = { ...dst };
  for (const [k, v] of Object.entries(src)) {
    const d = out[k];
    if (isObject(d) && isObject(v) && !ATOMIC.has(k)) out[k] = mergoFill(d, v);
    else if (isEmpty(d)) out[k] = structuredClone(v);
  }
  return out;
}

/** Strategic-merge-patch as it applies to these types: maps merge, lists are replaced, null deletes. */
export function strategicMerge(target: JsonObject, patch: JsonObject): JsonObject {
  const out: JsonObject = { ...target };
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else if (isObject(v) && isObject(out[k])) out[k] = strategicMerge(out[k] as JsonObject, v);
    else out[k] = structuredClone(v);
  }
  return out;
}

type Params = Record<string, unknown>;

function lookupParam(params: Params, dotted: string): unknown {
  let node: unknown = params;
  for (const part of dotted.split('.')) {
    if (!isObject(node) || !(part in node)) return undefined;
    node = node[part];
  }
  return node;
}

function paramText(v: unknown): string {
  return typeof v === 'string' ? v : v === null || v === undefined ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v);
}

/**
 * Renders one string. goTemplate: simple field references `{{ .a.b }}` (with `-` trim markers);
 * anything else is left in place. fasttemplate: `{{ name }}` with a known name is replaced, an
 * unknown one stays literal (as the controller leaves it).
 */
function renderString(s: string, params: Params, goTemplate: boolean): string {
  if (!s.includes('{{')) return s;
  if (goTemplate) {
    return s.replace(/\{\{-?\s*\.([A-Za-z_][\w]*(?:\.[A-Za-z_][\w]*)*)\s*-?\}\}/g, (whole, name: string) => {
      const v = lookupParam(params, name);
      return v === undefined ? whole : paramText(v);
    });
  }
  return s.replace(/\{\{\s*([^{}]+?)\s*\}\}/g, (whole, name: string) => {
    const v = name in params ? params[name] : lookupParam(params, name);
    return v === undefined ? whole : paramText(v);
  });
}

function renderDeep(value: unknown, params: Params, goTemplate: boolean): unknown {
  if (typeof value === 'string') return renderString(value, params, goTemplate);
  if (Array.isArray(value)) return value.map((v) => renderDeep(v, params, goTemplate));
  if (isObject(value)) {
    const out: JsonObject = {};
    for (const [k, v] of Object.entries(value)) out[renderString(k, params, goTemplate)] = renderDeep(v, params, goTemplate);
    return out;
  }
  return value;
}

function templated(value: unknown): boolean {
  return value !== undefined && JSON.stringify(value).includes('{{');
}

/** The subtree a violation's conclusion rests on: its source, or the field it names. */
function dependsOn(app: JsonObject, v: Violation): unknown[] {
  const spec = obj(app.spec);
  const parts: unknown[] = [v.value];
  const source = /^(spec|operation\.sync)\.(sources\[(\d+)\]|source|sourceHydrator\.drySource)/.exec(v.path);
  if (source) {
    const idx = source[3];
    parts.push(idx !== undefined ? (Array.isArray(spec.sources) ? spec.sources[Number(idx)] : undefined) : spec.source ?? obj(spec.sourceHydrator).drySource);
  }
  if (v.rule === 'R1') parts.push(spec.destination);
  if (v.rule === 'R2') parts.push(obj(app.metadata).name);
  if (v.rule.startsWith('R3')) parts.push(obj(spec.syncPolicy).syncOptions);
  return parts;
}

function possiblyCilium(app: JsonObject): boolean {
  const spec = obj(app.spec);
  const sources = [spec.source, ...(Array.isArray(spec.sources) ? spec.sources : []), obj(spec.sourceHydrator).drySource];
  return sources.some((s) => isObject(s) && (templated(s.chart) || templated(s.repoURL) || templated(s.path)));
}

// ---- Generator `selector` (applicationset/generators/generator_spec_processor.go Transform) ----
// Each parameter set is flattened (jeremywohl/flatten, dot style), every leaf printed with Go's %v,
// and matched by Argo CD's copy of the label selector (applicationset/utils/selector.go): an element
// it does not match generates no Application at all.

/** Go's %v of a float64 (the type encoding/json gives every JSON number): %g, shortest digits. */
function goFloat(n: number): string {
  if (Number.isNaN(n)) return 'NaN';
  if (!Number.isFinite(n)) return n > 0 ? '+Inf' : '-Inf';
  if (n === 0) return Object.is(n, -0) ? '-0' : '0';
  const [mantissa = '', e = '0'] = n.toExponential().split('e');
  const exp = Number(e);
  // strconv 'g' with the shortest precision switches to %e below 1e-4 and from 1e6 (eprec 6).
  if (exp < -4 || exp >= 6) return `${mantissa}e${exp < 0 ? '-' : '+'}${String(Math.abs(exp)).padStart(2, '0')}`;
  return String(n);
}

/** fmt.Sprintf("%v", v) of a value encoding/json decoded into `any`. */
export function goFormatValue(v: unknown): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return goFloat(v);
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (v === null || v === undefined) return '<nil>';
  return JSON.stringify(v);
}

export type FlatParams = { ok: true; params: Record<string, string> } | { ok: false; reason: string };

/**
 * The parameter set of one list element as the selector sees it. goTemplate: the element itself,
 * nested maps and lists flattened to `a.b.0` keys (an empty map or list yields no key). Without
 * goTemplate, list.go insists on string values, and a `values` map of strings becomes `values.<k>`;
 * anything else makes Argo CD's list generator fail. Two paths that flatten to one key with different
 * values are settled by Go's random map order: not knowable.
 */
export function flattenParams(element: unknown, goTemplate: boolean): FlatParams {
  if (element === null) return { ok: true, params: {} };
  if (!isObject(element)) return { ok: false, reason: 'is not an object, so the list generator fails' };
  const params: Record<string, string> = Object.create(null) as Record<string, string>;
  let clash: string | null = null;
  const put = (key: string, value: string): void => {
    if (Object.hasOwn(params, key) && params[key] !== value) clash ??= key;
    params[key] = value;
  };
  if (!goTemplate) {
    for (const [k, v] of Object.entries(element)) {
      if (k === 'values') {
        if (!isObject(v)) return { ok: false, reason: 'has a "values" that is not a map, so the list generator fails without goTemplate' };
        for (const [vk, vv] of Object.entries(v)) {
          if (typeof vv !== 'string') return { ok: false, reason: `has values.${vk} that is not a string, so the list generator fails without goTemplate` };
          put(`values.${vk}`, vv);
        }
      } else if (typeof v !== 'string') {
        return { ok: false, reason: `has ${k} that is not a string, so the list generator fails without goTemplate` };
      } else {
        put(k, v);
      }
    }
  } else {
    const stack: Array<[string, unknown]> = Object.entries(element);
    while (stack.length > 0) {
      const [key, v] = stack.pop() as [string, unknown];
      if (Array.isArray(v)) v.forEach((item, i) => stack.push([`${key}.${i}`, item]));
      else if (isObject(v)) for (const [k, inner] of Object.entries(v)) stack.push([`${key}.${k}`, inner]);
      else put(key, goFormatValue(v));
    }
  }
  if (clash !== null) return { ok: false, reason: `flattens two different values to the key "${clash}", and Argo CD keeps whichever it meets last` };
  return { ok: true, params: { ...params } };
}

export type SelectorFilter =
  | { kind: 'none' }
  | { kind: 'exact'; matches: (params: Record<string, string>) => boolean }
  | { kind: 'unknown'; reason: string };

const LABEL_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** apimachinery validation.IsQualifiedName, which Argo CD's newRequirement applies to every key. */
function isQualifiedName(key: string): boolean {
  const parts = key.split('/');
  if (parts.length > 2) return false;
  const name = parts[parts.length - 1] ?? '';
  if (parts.length === 2) {
    const prefix = parts[0] ?? '';
    if (prefix === '' || prefix.length > 253 || !DNS_SUBDOMAIN.test(prefix)) return false;
  }
  return name !== '' && name.length <= 63 && LABEL_NAME.test(name);
}

type Requirement = { key: string; op: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist'; values: string[] };

/**
 * A generator's `selector` (a metav1.LabelSelector) as Argo CD reads it (utils
 * LabelSelectorAsSelector): absent or null filters nothing, {} keeps everything, matchLabels are
 * `In` requirements, and every requirement must hold. What Argo CD refuses (another operator, a
 * key that is not a qualified name, In without values) stops the generator there; cilium-guard
 * does not predict that and calls the selector unknown instead.
 */
export function selectorFilter(selector: unknown): SelectorFilter {
  if (selector === undefined || selector === null) return { kind: 'none' };
  const unknown = (reason: string): SelectorFilter => ({ kind: 'unknown', reason });
  if (!isObject(selector)) return unknown('is not a label selector');
  const extra = Object.keys(selector).find((k) => k !== 'matchLabels' && k !== 'matchExpressions');
  if (extra !== undefined) return unknown(`has a field "${extra}" cilium-guard does not evaluate`);
  const reqs: Requirement[] = [];
  const { matchLabels, matchExpressions } = selector;
  if (matchLabels !== undefined && matchLabels !== null) {
    if (!isObject(matchLabels)) return unknown('has matchLabels that are not a map');
    for (const [key, value] of Object.entries(matchLabels)) {
      if (typeof value !== 'string') return unknown(`has matchLabels["${key}"] that is not a string`);
      if (!isQualifiedName(key)) return unknown(`has the key "${key}", which is not a qualified name, so Argo CD refuses the selector`);
      reqs.push({ key, op: 'In', values: [value] });
    }
  }
  if (matchExpressions !== undefined && matchExpressions !== null) {
    if (!Array.isArray(matchExpressions)) return unknown('has matchExpressions that are not a list');
    for (const [i, e] of matchExpressions.entries()) {
      if (!isObject(e) || typeof e.key !== 'string' || typeof e.operator !== 'string') return unknown(`has matchExpressions[${i}] without a key and an operator`);
      const values = e.values === undefined || e.values === null ? [] : e.values;
      if (!Array.isArray(values) || values.some((v) => typeof v !== 'string')) return unknown(`has matchExpressions[${i}].values that are not a list of strings`);
      const op = e.operator;
      if (op !== 'In' && op !== 'NotIn' && op !== 'Exists' && op !== 'DoesNotExist') {
        return unknown(`has the operator "${op}" in matchExpressions[${i}], which is not one Argo CD accepts (In, NotIn, Exists, DoesNotExist)`);
      }
      if (!isQualifiedName(e.key)) return unknown(`has the key "${e.key}", which is not a qualified name, so Argo CD refuses the selector`);
      if ((op === 'In' || op === 'NotIn') === (values.length === 0)) {
        return unknown(`has matchExpressions[${i}] with ${values.length === 0 ? 'no values for' : 'values for'} ${op}, so Argo CD refuses the selector`);
      }
      reqs.push({ key: e.key, op, values: values as string[] });
    }
  }
  return {
    kind: 'exact',
    matches: (params) =>
      reqs.every((r) => {
        const has = Object.hasOwn(params, r.key);
        switch (r.op) {
          case 'In':
            return has && r.values.includes(params[r.key] as string);
          case 'NotIn':
            return !has || !r.values.includes(params[r.key] as string);
          case 'Exists':
            return has;
          case 'DoesNotExist':
            return !has;
        }
        return false;
      }),
  };
}

interface Candidate {
  template: JsonObject;
  where: string;
  params: Params | null;
  /** Why it is not known whether the generator produces this Application (its selector). */
  unknown?: { path: string; value: unknown; reason: string };
}

function generatorCandidates(spec: JsonObject, goTemplate: boolean): Candidate[] {
  const base = obj(spec.template);
  const generators = Array.isArray(spec.generators) ? spec.generators : [];
  if (generators.length === 0) return [{ template: base, where: 'spec.template', params: null }];
  const out: Candidate[] = [];
  generators.forEach((g, i) => {
    const gen = obj(g);
    const type = GENERATOR_TYPES.find((t) => isObject(gen[t]));
    const body = type ? obj(gen[type]) : {};
    const own = obj(body.template);
    const template = Object.keys(own).length > 0 ? mergoFill(own, base) : base;
    const where = Object.keys(own).length > 0 ? `spec.generators[${i}].${type ?? 'generator'}.template` : 'spec.template';
    const elements = type === 'list' && Array.isArray(body.elements) && body.elementsYaml === undefined ? body.elements : null;
    if (elements && elements.length > 0) {
      const selector = selectorFilter(gen.selector);
      const selectorPath = `spec.generators[${i}].selector`;
      elements.forEach((e, j) => {
        const candidate: Candidate = { template, where: `${where} with spec.generators[${i}].list.elements[${j}]`, params: isObject(e) ? e : {} };
        if (selector.kind === 'none') {
          out.push(candidate);
        } else if (selector.kind === 'unknown') {
          out.push({ ...candidate, unknown: { path: selectorPath, value: gen.selector, reason: `${selectorPath} ${selector.reason}` } });
        } else {
          const flat = flattenParams(e, goTemplate);
          if (!flat.ok) {
            const path = `spec.generators[${i}].list.elements[${j}]`;
            out.push({ ...candidate, unknown: { path, value: e, reason: `${path} ${flat.reason}, so ${selectorPath} cannot be applied to it` } });
          } else if (selector.matches(flat.params)) {
            out.push(candidate);
          }
          // Otherwise the selector drops the element: Argo CD never renders it.
        }
      });
    } else {
      out.push({ template, where, params: null });
    }
  });
  return out;
}

function asApplication(template: JsonObject, namespace: string): JsonObject {
  const meta = { ...obj(template.metadata), namespace };
  return { apiVersion: 'argoproj.io/v1alpha1', kind: 'Application', metadata: meta, spec: obj(template.spec) };
}

export function applicationSetViolations(appset: JsonObject, config: PolicyConfig): Violation[] {
  const spec = obj(appset.spec);
  const namespace = str(obj(appset.metadata).namespace);
  const goTemplate = spec.goTemplate === true;
  const patchText = typeof spec.templatePatch === 'string' ? spec.templatePatch : '';
  const out = new Map<string, Violation>();
  const add = (v: Violation): void => {
    const key = `${v.rule}|${v.path}|${v.certain}`;
    if (!out.has(key)) out.set(key, v);
  };

  for (const candidate of generatorCandidates(spec, goTemplate)) {
    const params = candidate.params;
    let template = params ? (renderDeep(candidate.template, params, goTemplate) as JsonObject) : candidate.template;
    let patchUnknown: string | null = null;
    if (patchText.trim() !== '') {
      const rendered = params ? renderString(patchText, params, goTemplate) : patchText;
      const parsed = rendered.includes('{{')
        ? null
        : parseYaml11(rendered, yamlLimits(config));
      if (parsed && parsed.ok && isObject(parsed.value)) {
        const project = obj(template.spec).project;
        template = strategicMerge(template, parsed.value);
        // The controller forces spec.project back to the template's value.
        if (project !== undefined) template = { ...template, spec: { ...obj(template.spec), project } };
      } else if (parsed && !parsed.ok) {
        patchUnknown = `spec.templatePatch ${parsed.error}, so cilium-guard cannot read it`;
      } else {
        patchUnknown = 'spec.templatePatch can only be evaluated when the generator runs';
      }
    }
    const app = asApplication(template, namespace);
    const cilium = ciliumApplicationReason(app, null, config) !== null;
    if (!cilium && !possiblyCilium(app)) continue;
    const context = `${candidate.where}${patchText.trim() !== '' ? ' and spec.templatePatch' : ''}`;
    const unknown = candidate.unknown;
    if (unknown) {
      add({
        rule: 'A1',
        path: unknown.path,
        value: unknown.value,
        certain: false,
        message: `${unknown.reason}; cilium-guard cannot tell whether the generator keeps the Cilium Application of ${candidate.where}, so what it would break is only warned about; the Application webhook will judge what is generated`,
      });
    }
    if (patchUnknown) {
      add({
        rule: 'A1',
        path: 'spec.templatePatch',
        value: patchText,
        certain: false,
        message: `${patchUnknown}, and it can change any field of the generated Cilium Application (${candidate.where}); the Application webhook will judge the result`,
      });
    }
    for (const v of applicationViolations(app, config)) {
      const certain = v.certain && cilium && patchUnknown === null && !unknown && !dependsOn(app, v).some(templated);
      const why = unknown ? 'if the generator selector keeps it' : 'once templates are resolved';
      add({
        ...v,
        certain,
        path: `spec.template.${v.path}`,
        message: certain
          ? `generated Application (${context}): ${v.message}`
          : `generated Application (${context}) may break a rule ${why}: ${v.message}; the Application webhook will judge the result`,
      });
    }
  }
  return [...out.values()];
}
