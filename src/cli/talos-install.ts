// What Talos installs Cilium with, read from a machine-config patch: the Helm values of a
// `cilium install` / `helm install|upgrade|template` command in a Job or Pod of
// cluster.inlineManifests (values files resolved from ConfigMaps in the same manifests), or a plain
// Helm values file. Rendered manifests carry no values, and say so.
import path from 'node:path';
import { mergeMaps } from '../policy/values/coalesce.js';
import type { HelmVersion } from '../policy/values/helm-version.js';
import { parseInto, parseIntoString, parseJSON, parseLiteralInto } from '../policy/values/strvals.js';
import { isObject, obj, str } from '../policy/json.js';
import type { JsonObject } from '../policy/types.js';
import { dropNulls } from './helm-set.js';

/** cilium-cli and Talos' helm Jobs embed Helm v3. */
const TALOS_HELM: HelmVersion = '3.19';
import { parseDocuments, type YamlDocument } from './yaml-input.js';

export interface InstallValues {
  /** Where the values came from, for the report. */
  origin: string;
  tree: JsonObject;
  /** Keys whose value cannot be read here (`--set-file`, a values file outside the manifests). */
  unknown: Array<{ key: string; why: string }>;
  notes: string[];
  release: { name?: string; namespace?: string };
  chartVersion?: string;
}

export type TalosResult = { ok: true; install: InstallValues } | { ok: false; error: string };

/** POSIX-shell words of a script, split into commands at newlines, `;`, `&&`, `||` and `|`. */
export function shellCommands(script: string): string[][] {
  const commands: string[][] = [];
  let words: string[] = [];
  let word = '';
  let inWord = false;
  const endWord = () => {
    if (inWord) words.push(word);
    word = '';
    inWord = false;
  };
  const endCommand = () => {
    endWord();
    if (words.length > 0) commands.push(words);
    words = [];
  };
  for (let i = 0; i < script.length; i++) {
    const c = script[i] as string;
    if (c === '\\') {
      if (script[i + 1] === '\n') i++;
      else {
        word += script[i + 1] ?? '';
        inWord = true;
        i++;
      }
    } else if (c === "'") {
      const close = script.indexOf("'", i + 1);
      word += script.slice(i + 1, close < 0 ? script.length : close);
      inWord = true;
      i = close < 0 ? script.length : close;
    } else if (c === '"') {
      let j = i + 1;
      for (; j < script.length && script[j] !== '"'; j++) {
        if (script[j] === '\\' && /["\\$`\n]/.test(script[j + 1] ?? '')) {
          if (script[j + 1] !== '\n') word += script[j + 1];
          j++;
        } else word += script[j];
      }
      inWord = true;
      i = j;
    } else if (c === '#' && !inWord) {
      while (i < script.length && script[i] !== '\n') i++;
      endCommand();
    } else if (c === '\n' || c === ';' || c === '|' || c === '&') {
      if ((c === '&' || c === '|') && script[i + 1] === c) i++;
      endCommand();
    } else if (c === ' ' || c === '\t' || c === '\r') {
      endWord();
    } else {
      word += c;
      inWord = true;
    }
  }
  endCommand();
  return commands;
}

const SHELLS = new Set(['sh', 'bash', 'ash', 'dash', 'zsh', 'busybox']);

/** The commands a container runs: its command and args, or the script of `sh -c`. */
function containerCommands(container: JsonObject): string[][] {
  const argv = [
    ...(Array.isArray(container.command) ? container.command : []),
    ...(Array.isArray(container.args) ? container.args : []),
  ].map((a) => String(a));
  if (argv.length === 0) return [];
  let i = 0;
  if (path.posix.basename(argv[0] as string) === 'busybox') i++;
  if (SHELLS.has(path.posix.basename(argv[i] ?? ''))) {
    const c = argv.findIndex((a, j) => j > i && /^-[a-z]*c[a-z]*$/.test(a));
    return c >= 0 && argv[c + 1] !== undefined ? shellCommands(argv[c + 1] as string) : [];
  }
  return [argv];
}

interface Installer {
  tool: 'cilium' | 'helm';
  argv: string[];
  where: string;
  /** The workload's namespace (Talos applies an inline manifest without one to `default`). */
  namespace: string;
  container: JsonObject;
  pod: JsonObject;
}

/** Strips `env`, `exec` and variable assignments in front of a command. */
function commandWords(words: string[]): string[] {
  let i = 0;
  while (i < words.length && (words[i] === 'exec' || words[i] === 'env' || /^[A-Za-z_][A-Za-z0-9_]*=/.test(words[i] as string))) i++;
  return words.slice(i);
}

function findInstaller(words: string[]): Pick<Installer, 'tool' | 'argv'> | null {
  const w = commandWords(words);
  const bin = path.posix.basename(w[0] ?? '');
  const verb = w.slice(1).find((a) => !a.startsWith('-'));
  if (bin === 'cilium' && (verb === 'install' || verb === 'upgrade')) return { tool: 'cilium', argv: w };
  if (bin === 'helm' && (verb === 'install' || verb === 'upgrade' || verb === 'template')) return { tool: 'helm', argv: w };
  return null;
}

function podSpecOf(object: JsonObject): JsonObject | null {
  const kind = str(object.kind);
  const spec = obj(object.spec);
  if (kind === 'Pod') return spec;
  if (kind === 'CronJob') return obj(obj(obj(obj(spec.jobTemplate).spec).template).spec);
  if (['Job', 'Deployment', 'DaemonSet', 'StatefulSet', 'ReplicaSet'].includes(kind)) return obj(obj(spec.template).spec);
  return null;
}

// Flags of helm and cilium-cli that take a value (the rest are switches).
const VALUE_FLAGS = new Set([
  '-f', '--values', '--helm-values', '--set', '--set-string', '--set-file', '--set-json', '--set-literal',
  '--helm-set', '--helm-set-string', '--helm-set-file', '--version', '-n', '--namespace', '--kube-context',
  '--context', '--kubeconfig', '--repo', '--timeout', '--post-renderer', '--post-renderer-args', '--description',
  '-o', '--output', '--kube-version', '-a', '--api-versions', '--username', '--password', '--ca-file',
  '--cert-file', '--key-file', '--keyring', '--registry-config', '--repository-cache', '--repository-config',
  '--output-dir', '--name-template', '--chart-directory', '--datapath-mode', '--labels', '-l', '--show-only', '-s',
  '--wait-duration', '--max-history', '--burst-limit', '--qps',
]);

interface ParsedFlags {
  flags: Array<{ flag: string; value: string }>;
  positionals: string[];
}

function parseFlags(argv: string[]): ParsedFlags {
  const out: ParsedFlags = { flags: [], positionals: [] };
  for (let i = 1; i < argv.length; i++) {
    const a = argv[i] as string;
    if (a === '--') {
      out.positionals.push(...argv.slice(i + 1));
      break;
    }
    if (a.startsWith('-') && a.length > 1) {
      const eq = a.indexOf('=');
      if (eq > 0 && a.startsWith('--')) out.flags.push({ flag: a.slice(0, eq), value: a.slice(eq + 1) });
      else if (VALUE_FLAGS.has(a)) out.flags.push({ flag: a, value: argv[++i] ?? '' });
      else if (/^-[fn].+/.test(a)) out.flags.push({ flag: a.slice(0, 2), value: a.slice(2) });
      else out.flags.push({ flag: a, value: '' });
    } else out.positionals.push(a);
  }
  return out;
}

/** A values file named by `-f PATH` inside the container: which ConfigMap key is mounted there. */
function mountedFile(file: string, inst: Installer, configMaps: Map<string, JsonObject>): { data: string; from: string } | string {
  const mounts = Array.isArray(inst.container.volumeMounts) ? inst.container.volumeMounts.filter(isObject) : [];
  const volumes = Array.isArray(inst.pod.volumes) ? inst.pod.volumes.filter(isObject) : [];
  const abs = path.posix.resolve(str(inst.container.workingDir) || '/', file);
  for (const m of mounts) {
    const mountPath = str(m.mountPath).replace(/\/+$/, '');
    if (mountPath === '' || (abs !== mountPath && !abs.startsWith(`${mountPath}/`))) continue;
    const volume = volumes.find((v) => str(v.name) === str(m.name));
    const cmRef = volume ? obj(volume.configMap) : {};
    const projected = volume ? (Array.isArray(obj(volume.projected).sources) ? (obj(volume.projected).sources as unknown[]) : []) : [];
    const refs = [cmRef, ...projected.filter(isObject).map((s) => obj(s.configMap))].filter((r) => str(r.name) !== '');
    if (refs.length === 0) return `${file} is mounted from volume "${str(m.name)}", which is not a ConfigMap in these manifests`;
    const sub = str(m.subPath);
    const rel = abs === mountPath ? sub : path.posix.relative(mountPath, abs);
    for (const ref of refs) {
      const cm = configMaps.get(str(ref.name));
      if (!cm) continue;
      const items = Array.isArray(ref.items) ? ref.items.filter(isObject) : [];
      const item = items.find((it) => str(it.path) === rel);
      const key = items.length > 0 ? (item ? str(item.key) : '') : rel;
      const data = obj(cm.data)[key];
      if (typeof data === 'string') return { data, from: `ConfigMap ${str(ref.name)} key ${key}` };
    }
    return `${file} is mounted from ConfigMap ${refs.map((r) => str(r.name)).join(', ')}, which has no key for it in these manifests`;
  }
  return `${file} is not mounted from a ConfigMap in these manifests (a file in the image or on a URL cannot be read here)`;
}

function valuesOf(inst: Installer, configMaps: Map<string, JsonObject>, maxAliases: number): InstallValues | string {
  const { flags, positionals } = parseFlags(inst.argv);
  const verbIndex = positionals.findIndex((p) => ['install', 'upgrade', 'template'].includes(p));
  const args = positionals.slice(verbIndex + 1);
  const install: InstallValues = { origin: inst.where, tree: {}, unknown: [], notes: [], release: {} };
  const generateName = flags.some((f) => f.flag === '--generate-name' || f.flag === '-g');
  if (inst.tool === 'cilium') {
    install.release = { name: 'cilium', namespace: 'kube-system' };
  } else {
    // In a pod, helm's default namespace is $HELM_NAMESPACE, else the pod's own (client-go in-cluster config).
    const env = Array.isArray(inst.container.env) ? inst.container.env.filter(isObject) : [];
    const helmNamespace = str(env.find((e) => str(e.name) === 'HELM_NAMESPACE')?.value);
    install.release = { namespace: helmNamespace || inst.namespace };
    if (generateName) install.notes.push(`${inst.where}: helm --generate-name picks a random release name`);
    else if (args.length >= 2) install.release.name = args[0] as string;
    else if (positionals[verbIndex] === 'template' && args.length === 1) install.release.name = 'release-name';
  }
  // Helm (pkg/cli/values MergeValues): value files in order, then every --set-json, every --set,
  // every --set-string, every --set-file, every --set-literal, each group in command-line order.
  let tree: JsonObject = {};
  const sets: Array<{ flag: string; value: string }> = [];
  for (const { flag, value } of flags) {
    switch (flag) {
      case '-n':
      case '--namespace':
        install.release.namespace = value;
        break;
      case '--version':
        install.chartVersion = value;
        break;
      case '-f':
      case '--values':
      case '--helm-values': {
        for (const file of value.split(',').filter((f) => f !== '')) {
          const mounted = mountedFile(file, inst, configMaps);
          if (typeof mounted === 'string') {
            install.unknown.push({ key: '*', why: mounted });
            continue;
          }
          const parsed = parseDocuments(mounted.data, mounted.from, maxAliases);
          if (parsed.errors.length > 0) return `${mounted.from}: ${parsed.errors[0]?.message}`;
          const doc = parsed.documents[0]?.value;
          if (doc !== undefined && !isObject(doc)) return `${mounted.from} is not a mapping of Helm values`;
          if (doc) tree = mergeMaps(tree, doc);
          install.notes.push(`${inst.where}: values file ${file} read from ${mounted.from}`);
        }
        break;
      }
      default:
        if (/^--(helm-)?set(-string|-file|-json|-literal)?$/.test(flag)) sets.push({ flag: flag.replace('--helm-', '--'), value });
    }
  }
  const group = ['--set-json', '--set', '--set-string', '--set-file', '--set-literal'];
  sets.sort((x, y) => group.indexOf(x.flag) - group.indexOf(y.flag));
  for (const { flag, value } of sets) {
    if (flag === '--set-file') {
      for (const part of value.split(',')) install.unknown.push({ key: part.split('=')[0] ?? part, why: `${inst.where} sets it from a file (--set-file ${part})` });
      continue;
    }
    // Helm's own parser (pkg/strvals, as cilium-cli and helm v3 embed it), in MergeValues' order.
    try {
      if (flag === '--set-json') {
        const trimmed = value.trim();
        if (trimmed.startsWith('{')) {
          const parsed: unknown = JSON.parse(trimmed);
          if (!isObject(parsed)) throw new Error('is not a JSON object');
          tree = mergeMaps(tree, parsed);
        } else parseJSON(value, tree, TALOS_HELM);
      } else if (flag === '--set-literal') parseLiteralInto(value, tree, TALOS_HELM);
      else if (flag === '--set-string') parseIntoString(value, tree, TALOS_HELM);
      else parseInto(value, tree, TALOS_HELM);
    } catch (err) {
      return `${inst.where}: ${flag} ${JSON.stringify(value)}: ${err instanceof Error ? err.message : String(err)}`;
    }
  }
  const unresolved = JSON.stringify(tree).match(/\$\{?[A-Za-z_][A-Za-z0-9_]*/g);
  if (unresolved) install.notes.push(`${inst.where}: values hold shell variables (${[...new Set(unresolved)].join(', ')}), compared as written`);
  install.tree = dropNulls(tree);
  return install;
}

function isValuesDocument(v: unknown): v is JsonObject {
  return isObject(v) && !('machine' in v) && !('cluster' in v) && !(typeof v.apiVersion === 'string' && typeof v.kind === 'string');
}

/** Reads a Talos patch (or a values file) that installs Cilium. */
export function talosInstall(documents: YamlDocument[], file: string, maxAliases: number): TalosResult {
  const configs = documents.filter((d) => isObject(d.value) && (isObject(d.value.cluster) || isObject(d.value.machine)));
  if (configs.length === 0) {
    const values = documents.filter((d) => isValuesDocument(d.value));
    if (values.length === 1 && documents.length === 1) {
      return { ok: true, install: { origin: `${file} (Helm values)`, tree: dropNulls(values[0]!.value as JsonObject), unknown: [], notes: [], release: {} } };
    }
    return {
      ok: false,
      error: `${file} is neither a Talos machine-config patch (with cluster.inlineManifests) nor a single document of Helm values`,
    };
  }
  const manifests: Array<{ object: JsonObject; where: string }> = [];
  const notes: string[] = [];
  for (const doc of configs) {
    const cluster = obj((doc.value as JsonObject).cluster);
    const inline = Array.isArray(cluster.inlineManifests) ? cluster.inlineManifests : [];
    inline.forEach((m, i) => {
      if (!isObject(m)) return;
      const name = str(m.name) || `#${i}`;
      const parsed = parseDocuments(str(m.contents), `${doc.source} inlineManifests[${name}]`, maxAliases);
      for (const e of parsed.errors) notes.push(`${e.source}: ${e.message}`);
      for (const d of parsed.documents) {
        const items = isObject(d.value) && d.value.kind === 'List' && Array.isArray(d.value.items) ? d.value.items : [d.value];
        for (const item of items) if (isObject(item)) manifests.push({ object: item, where: d.source });
      }
    });
    const extra = Array.isArray(cluster.extraManifests) ? cluster.extraManifests : [];
    for (const url of extra) notes.push(`${doc.source}: cluster.extraManifests ${String(url)} is not fetched (no network); pass its values if it installs Cilium`);
  }
  const configMaps = new Map<string, JsonObject>();
  for (const m of manifests) if (m.object.kind === 'ConfigMap') configMaps.set(str(obj(m.object.metadata).name), m.object);
  const installers: Installer[] = [];
  for (const { object, where } of manifests) {
    const pod = podSpecOf(object);
    if (!pod) continue;
    const containers = [...(Array.isArray(pod.initContainers) ? pod.initContainers : []), ...(Array.isArray(pod.containers) ? pod.containers : [])];
    for (const c of containers.filter(isObject)) {
      for (const words of containerCommands(c)) {
        const found = findInstaller(words);
        if (found) {
          installers.push({
            ...found,
            where: `${where} ${str(object.kind)} ${str(obj(object.metadata).name)} container ${str(c.name)}`,
            namespace: str(obj(object.metadata).namespace) || 'default',
            container: c,
            pod,
          });
        }
      }
    }
  }
  if (installers.length === 0) {
    const rendered = manifests.find(
      (m) => (m.object.kind === 'DaemonSet' && str(obj(m.object.metadata).name) === 'cilium') || (m.object.kind === 'ConfigMap' && str(obj(m.object.metadata).name) === 'cilium-config'),
    );
    if (rendered) {
      return {
        ok: false,
        error: `${rendered.where} holds Cilium's rendered manifests (${str(rendered.object.kind)} ${str(obj(rendered.object.metadata).name)}), which keep no Helm values; pass the values file they were rendered with: --talos values.yaml`,
      };
    }
    return {
      ok: false,
      error: `${file}: no Job or Pod in cluster.inlineManifests runs \`cilium install\` or \`helm install|upgrade|template\`${notes.length > 0 ? ` (${notes.join('; ')})` : ''}`,
    };
  }
  const first = installers[0] as Installer;
  const values = valuesOf(first, configMaps, maxAliases);
  if (typeof values === 'string') return { ok: false, error: values };
  values.notes.unshift(...notes);
  if (installers.length > 1) values.notes.push(`${installers.length} install commands found; compared the first (${first.where})`);
  return { ok: true, install: values };
}
