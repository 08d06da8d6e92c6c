// ApplicationSet: predict the Applications it will generate, and judge them with the Application
// rules. What can be proven from the object (literal fields, list-generator parameters, a literal
// templatePatch) is judged with the rule's mode; what depends on parameters that only exist at
// generation time is a warning, and the Application webhook judges the generated result.
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

interface Candidate {
  template: JsonObject;
  where: string;
  params: Params | null;
}

function generatorCandidates(spec: JsonObject): Candidate[] {
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
      elements.forEach((e, j) => {
        out.push({ template, where: `${where} with spec.generators[${i}].list.elements[${j}]`, params: isObject(e) ? e : {} });
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

  for (const candidate of generatorCandidates(spec)) {
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
      const certain = v.certain && cilium && patchUnknown === null && !dependsOn(app, v).some(templated);
      add({
        ...v,
        certain,
        path: `spec.template.${v.path}`,
        message: certain
          ? `generated Application (${context}): ${v.message}`
          : `generated Application (${context}) may break a rule once templates are resolved: ${v.message}; the Application webhook will judge the result`,
      });
    }
  }
  return [...out.values()];
}
