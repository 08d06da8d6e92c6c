// `cilium-guard check FILE...`: the webhook's engine over manifests, for CI pipelines.
// Exit 0: clean; 1: something would be denied (or needs the argocd-cm mutation, or warns with
// --strict); 2: unreadable input or bad usage.
import fastJsonPatch from 'fast-json-patch';
import { type ClusterView, type ClusterViewSource, DEFAULT_VIEW_SOURCE, readClusterView } from '../policy/cluster-view.js';
import type { PolicyConfig } from '../policy/config.js';
import { mutate, validate } from '../policy/engine.js';
import { isObject } from '../policy/json.js';
import type { JsonObject, PolicyRequest } from '../policy/types.js';
import { summarize, type ObjectReport, type Report } from './report.js';
import { type YamlInput, manifestFiles, readYamlFile, readYamlStream } from './yaml-input.js';
import { stat } from 'node:fs/promises';

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

/** Where the view is read from, for this policy: its namespace and cilium-config name. */
export function viewSource(config: PolicyConfig): ClusterViewSource {
  return { ...DEFAULT_VIEW_SOURCE, namespace: config.cilium.namespace, configMapName: config.cilium.configMapName };
}

/** One line on what a view holds, for the report's notes. */
export function describeView(view: ClusterView, from: string): string {
  const parts = [
    view.agent ? `agent ${view.agent.version ?? `version unknown (${view.agent.image})`}` : undefined,
    view.ciliumConfig ? `cilium-config with ${Object.keys(view.ciliumConfig.data).length} key(s)` : undefined,
    view.missing?.length ? `missing: ${view.missing.join(', ')}` : undefined,
    view.stale ? 'stale' : undefined,
    view.unavailable ? `unavailable: ${view.unavailable}` : undefined,
  ].filter(Boolean);
  return `cluster view from ${from}: ${parts.join('; ') || 'empty'}`;
}

/** `check --cluster FILE`: a ClusterView document, or kubectl's List of cilium-config and the DaemonSet. */
export async function readClusterViewFile(file: string, config: PolicyConfig): Promise<ClusterView | Report['errors']> {
  const input = await readYamlFile(file, config.limits.yamlAliases);
  if (input.errors.length > 0) return input.errors;
  const view = readClusterView(input.documents.map((d) => d.value), viewSource(config));
  return typeof view === 'string' ? [{ source: file, message: `not a cluster view: ${view}` }] : view;
}

export function checkObject(object: JsonObject, source: string, config: PolicyConfig, cluster?: ClusterView): ObjectReport | string {
  const req = requestFor(object);
  if (typeof req === 'string') return req;
  const validated = validate(req, config, cluster ? { cluster } : {});
  const mutated = mutate(req, config);
  const patch = mutated.patched ? fastJsonPatch.compare(object, mutated.patched) : [];
  const findings = [...validated.findings, ...mutated.findings].map((f) => ({
    rule: f.rule,
    verdict: f.verdict,
    path: f.path,
    message: f.message,
    ...(f.value !== undefined ? { value: f.value } : {}),
    ...(f.downgrade ? { downgrade: f.downgrade } : {}),
    ...(f.docs ? { docs: f.docs } : {}),
  }));
  const uid = isObject(object.metadata) ? object.metadata.uid : undefined;
  return {
    source,
    apiVersion: String(object.apiVersion),
    kind: req.kind.kind,
    namespace: req.namespace ?? '',
    name: req.name ?? '',
    ...(typeof uid === 'string' ? { uid } : {}),
    allowed: validated.allowed,
    findings,
    ...(patch.length > 0 ? { patch } : {}),
  };
}

/** One input of `check`: a file, a directory (walked), or `-` (standard input). */
interface Input {
  source: string;
  /** Found by walking a directory: documents that are not Kubernetes objects (values files, CI configs) are skipped, not errors. */
  walked: boolean;
  read: () => Promise<YamlInput>;
}

async function expandInputs(args: string[], aliases: number, stdin: AsyncIterable<Buffer | string>, errors: Report['errors']): Promise<Input[]> {
  const inputs: Input[] = [];
  let stdinTaken = false;
  for (const arg of args) {
    if (arg === '-') {
      if (stdinTaken) errors.push({ source: '-', message: 'standard input is given more than once' });
      else inputs.push({ source: 'stdin', walked: false, read: () => readYamlStream(stdin, 'stdin', aliases) });
      stdinTaken = true;
      continue;
    }
    const isDir = await stat(arg).then((i) => i.isDirectory(), () => false);
    if (!isDir) {
      inputs.push({ source: arg, walked: false, read: () => readYamlFile(arg, aliases) });
      continue;
    }
    let files: string[];
    try {
      files = await manifestFiles(arg);
    } catch (err) {
      errors.push({ source: arg, message: `cannot read: ${(err as Error).message}` });
      continue;
    }
    if (files.length === 0) errors.push({ source: arg, message: 'no .yaml, .yml or .json file in this directory' });
    for (const file of files) inputs.push({ source: file, walked: true, read: () => readYamlFile(file, aliases) });
  }
  return inputs;
}

const isManifest = (v: unknown): boolean => isObject(v) && typeof v.apiVersion === 'string' && typeof v.kind === 'string';

/**
 * `check` over FILEs, directories (walked recursively for YAML and JSON) and `-` (standard input,
 * e.g. `kustomize build overlays/prod | cilium-guard check -`).
 */
export async function checkFiles(
  files: string[],
  config: PolicyConfig,
  options: { clusterFile?: string; stdin?: AsyncIterable<Buffer | string>; skipNonManifests?: boolean } = {},
): Promise<Report> {
  const objects: ObjectReport[] = [];
  const errors: Report['errors'] = [];
  const notes: string[] = [];
  let cluster: ClusterView | undefined;
  if (options.clusterFile) {
    const read = await readClusterViewFile(options.clusterFile, config);
    // Judging without the view the user asked for would report passes it cannot vouch for.
    if (Array.isArray(read)) return summarize('check', { inputs: files, errors: read });
    cluster = read;
    notes.push(describeView(read, options.clusterFile));
  }
  const inputs = await expandInputs(files, config.limits.yamlAliases, options.stdin ?? process.stdin, errors);
  let skipped = 0;
  for (const file of inputs) {
    const input = await file.read();
    errors.push(...input.errors);
    for (const { source, value } of input.documents) {
      // --skip-non-manifests (the pre-commit hook, which names every staged YAML file) skips them everywhere.
      if ((file.walked || options.skipNonManifests) && !isManifest(value)) {
        skipped++;
        continue;
      }
      const items = isObject(value) && value.kind === 'List' && Array.isArray(value.items) ? value.items : [value];
      items.forEach((item, j) => {
        const where = items.length > 1 || item !== value ? `${source}[${j}]` : source;
        if (!isObject(item)) {
          errors.push({ source: where, message: 'not a Kubernetes object' });
          return;
        }
        const result = checkObject(item, where, config, cluster);
        if (typeof result === 'string') errors.push({ source: where, message: result });
        else objects.push(result);
      });
    }
  }
  if (skipped > 0) {
    const where = options.skipNonManifests ? 'skipped (--skip-non-manifests)' : 'skipped in the directories walked';
    notes.push(`${skipped} document(s) without apiVersion and kind ${where} (values files, CI configuration)`);
  }
  return summarize('check', { inputs: inputs.map((i) => i.source), objects, notes, errors });
}
