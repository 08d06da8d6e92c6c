// `cilium-guard check FILE...`: the webhook's engine over manifests, for CI pipelines.
// Exit 0: clean; 1: something would be denied (or needs the argocd-cm mutation, or warns with
// --strict); 2: unreadable input or bad usage.
import { readFile, stat } from 'node:fs/promises';
import fastJsonPatch from 'fast-json-patch';
import { parseAllDocuments } from 'yaml';
import type { PolicyConfig } from '../policy/config.js';
import { mutate, validate } from '../policy/engine.js';
import { isObject } from '../policy/json.js';
import type { JsonObject, PolicyRequest } from '../policy/types.js';
import { summarize, type ObjectReport, type Report } from './report.js';

const MAX_FILE_BYTES = 16 * 1024 * 1024;

function requestFor(object: JsonObject): PolicyRequest | string {
  const apiVersion = typeof object.apiVersion === 'string' ? object.apiVersion : '';
  const kind = typeof object.kind === 'string' ? object.kind : '';
  if (apiVersion === '' || kind === '') return 'not a Kubernetes object (apiVersion and kind are required)';
  const slash = apiVersion.lastIndexOf('/');
  const meta = isObject(object.metadata) ? object.metadata : {};
  return {
    operation: 'CREATE',
    kind: { group: slash >= 0 ? apiVersion.slice(0, slash) : '', version: apiVersion.slice(slash + 1), kind },
    ...(typeof meta.name === 'string' ? { name: meta.name } : {}),
    ...(typeof meta.namespace === 'string' ? { namespace: meta.namespace } : {}),
    object,
    oldObject: null,
    userInfo: {},
    dryRun: true,
  };
}

export function checkObject(object: JsonObject, source: string, config: PolicyConfig): ObjectReport | string {
  const req = requestFor(object);
  if (typeof req === 'string') return req;
  const validated = validate(req, config);
  const mutated = mutate(req, config);
  const patch = mutated.patched ? fastJsonPatch.compare(object, mutated.patched) : [];
  const findings = [...validated.findings, ...mutated.findings].map((f) => ({
    rule: f.rule,
    verdict: f.verdict,
    path: f.path,
    message: f.message,
    ...(f.value !== undefined ? { value: f.value } : {}),
    ...(f.downgrade ? { downgrade: f.downgrade } : {}),
  }));
  return {
    source,
    kind: req.kind.kind,
    namespace: req.namespace ?? '',
    name: req.name ?? '',
    allowed: validated.allowed,
    findings,
    ...(patch.length > 0 ? { patch } : {}),
  };
}

export async function checkFiles(files: string[], config: PolicyConfig): Promise<Report> {
  const objects: ObjectReport[] = [];
  const errors: Report['errors'] = [];
  for (const file of files) {
    let text: string;
    try {
      const info = await stat(file);
      if (!info.isFile()) throw new Error('not a regular file');
      if (info.size > MAX_FILE_BYTES) throw new Error(`larger than ${MAX_FILE_BYTES} bytes`);
      text = await readFile(file, 'utf8');
    } catch (err) {
      errors.push({ source: file, message: `cannot read: ${(err as Error).message}` });
      continue;
    }
    const docs = parseAllDocuments(text, { version: '1.1', uniqueKeys: false, prettyErrors: false });
    const list = Array.isArray(docs) ? docs : [docs];
    list.forEach((doc, i) => {
      const source = `${file}#${i + 1}`;
      if (doc.errors.length > 0) {
        errors.push({ source, message: `not valid YAML: ${doc.errors[0]?.message.split('\n')[0] ?? ''}` });
        return;
      }
      let value: unknown;
      try {
        value = doc.toJS({ maxAliasCount: config.limits.yamlAliases });
      } catch (err) {
        errors.push({ source, message: (err as Error).message.split('\n')[0] ?? 'unreadable' });
        return;
      }
      if (value === null || value === undefined) return;
      const items = isObject(value) && value.kind === 'List' && Array.isArray(value.items) ? value.items : [value];
      items.forEach((item, j) => {
        const where = items.length > 1 || item !== value ? `${source}[${j}]` : source;
        if (!isObject(item)) {
          errors.push({ source: where, message: 'not a Kubernetes object' });
          return;
        }
        const result = checkObject(item, where, config);
        if (typeof result === 'string') errors.push({ source: where, message: result });
        else objects.push(result);
      });
    });
  }
  return summarize(objects, errors);
}

export function exitCode(report: Report, strict: boolean): number {
  if (report.summary.errors > 0) return 2;
  if (report.summary.denied > 0 || report.summary.mutations > 0) return 1;
  if (strict && report.summary.warnings > 0) return 1;
  return 0;
}
