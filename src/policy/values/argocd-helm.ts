// How Argo CD's repo-server turns one Helm source of an Application into a `helm template` command
// (argo-cd v3.6 reposerver/repository/repository.go helmTemplate(), util/helm/cmd.go template() and
// cleanSetParameters(), pkg/apis/application/v1alpha1 values.go ValuesYAML() and types.go Env.Envsubst).
//
// The command as data: what a rule needs is the argument list Helm receives, not the Application's
// fields, because Argo CD passes parameter names unescaped and escapes commas in values only in some
// shapes, so a parameter can set other keys than its name says.
import { isObject, obj, str } from '../json.js';
import type { JsonObject } from '../types.js';

/** One `--set`, `--set-string` or `--set-file` argument, with the parameter it came from. */
export interface SetArg {
  flag: '--set' | '--set-string' | '--set-file';
  /** `name=value` exactly as Helm's strvals receives it. */
  arg: string;
  name: string;
  /** Field path of the parameter entry that won the collapse by name. */
  fieldPath: string;
  /** Why the value cannot be known before the sync, when it cannot (a sync-time variable). */
  unknown?: string;
}

/** util/helm/cmd.go TemplateOpts, for what decides values, release name and namespace. */
export interface TemplateOpts {
  /** Field path of the source (e.g. `spec.sources[0]`). */
  sourcePath: string;
  name: string;
  /** Field path that decided the name (`…helm.releaseName` or `metadata.name`). */
  namePath: string;
  namespace: string;
  namespacePath: string;
  set: SetArg[];
  setString: SetArg[];
  setFile: SetArg[];
  /** helm.valueFiles entries: read by Helm, invisible here. */
  valueFiles: string[];
  /** The temporary values file Argo CD writes from helm.values / helm.valuesObject, if any. */
  extraValues: { text: string; fieldPath: string; fromObject: boolean } | null;
  skipSchemaValidation: boolean;
  skipCrds: boolean;
}

/** The variables of repository.go newEnv(); the revision ones only exist at sync time. */
export interface ArgoEnv {
  [name: string]: string | undefined;
}

export const SYNC_TIME_VARS = new Set(['ARGOCD_APP_REVISION', 'ARGOCD_APP_REVISION_SHORT', 'ARGOCD_APP_REVISION_SHORT_8']);

const SPECIAL_VARS = '*#$@!?-0123456789';

/**
 * Go's os.Expand with Argo CD's mapping (`$$` is `$`, unknown names are empty). Variables only known
 * at sync time make the result unknowable: their names are returned in `unknown`.
 */
export function envsubst(s: string, env: ArgoEnv): { value: string; unknown: string[] } {
  let out = '';
  const unknown: string[] = [];
  let i = 0;
  for (let j = 0; j < s.length; j++) {
    if (s[j] !== '$' || j + 1 >= s.length) continue;
    out += s.slice(i, j);
    const rest = s.slice(j + 1);
    let name = '';
    let width = 0;
    if (rest[0] === '{') {
      if (rest.length > 2 && SPECIAL_VARS.includes(rest[1] as string) && rest[2] === '}') {
        name = rest[1] as string;
        width = 3;
      } else {
        const close = rest.indexOf('}');
        if (close === 1) width = 2;
        else if (close > 1) {
          name = rest.slice(1, close);
          width = close + 1;
        } else width = 1;
      }
    } else if (SPECIAL_VARS.includes(rest[0] as string)) {
      name = rest[0] as string;
      width = 1;
    } else {
      const m = /^[A-Za-z0-9_]*/.exec(rest);
      name = m ? m[0] : '';
      width = name.length;
    }
    if (name === '' && width > 0) {
      // invalid syntax (`${}`, an unclosed `${`): os.Expand eats the characters
    } else if (name === '' || name === '$') {
      out += '$';
    } else {
      if (SYNC_TIME_VARS.has(name)) unknown.push(name);
      out += env[name] ?? '';
    }
    j += width;
    i = j + 1;
  }
  return { value: out + s.slice(i), unknown };
}

/** util/helm/cmd.go cleanSetParameters: `{…}` is a Helm list and is left alone; other commas are escaped unless a backslash precedes them. */
export function cleanSetParameters(val: string): string {
  if (val.startsWith('{') && val.endsWith('}')) return val;
  let out = '';
  let prev = '';
  for (const r of val) {
    out += r === ',' && prev !== '\\' ? '\\,' : r;
    prev = r;
  }
  return out;
}

export interface AppContext {
  /** metadata.name: the default release name (argo.ParseInstanceName keeps the name part). */
  name: string;
  /** ARGOCD_APP_NAME: the instance name, `<namespace>_<name>` outside Argo CD's own namespace. */
  instanceName: string;
  destinationNamespace: string;
  project: string;
}

export function appContext(app: JsonObject, controlPlaneNamespaces: readonly string[]): AppContext {
  const meta = obj(app.metadata);
  const spec = obj(app.spec);
  const name = str(meta.name);
  const ns = str(meta.namespace);
  const home = controlPlaneNamespaces.length > 0 ? controlPlaneNamespaces : ['argocd'];
  return {
    name,
    instanceName: ns === '' || home.includes(ns) ? name : `${ns}_${name}`,
    destinationNamespace: str(obj(spec.destination).namespace),
    project: str(spec.project),
  };
}

/** A parameter value as Argo CD hands it on: the API server keeps it a string, but be lenient. */
function paramValue(v: unknown): string {
  if (typeof v === 'string') return v;
  if (v === undefined || v === null) return '';
  return typeof v === 'object' ? JSON.stringify(v) : String(v);
}

/**
 * repository.go helmTemplate(): the options Argo CD fills for one source. Parameters are Go maps
 * keyed by name, so a later entry with the same name replaces an earlier one, and Helm receives
 * each group in random order (the caller must not rely on the order within a group).
 */
export function templateOpts(source: JsonObject, sourcePath: string, ctx: AppContext, syncTimeValue = ''): TemplateOpts {
  const helm = obj(source.helm);
  const releaseName = str(helm.releaseName);
  const helmNs = str(helm.namespace);
  const opts: TemplateOpts = {
    sourcePath,
    name: releaseName || ctx.name,
    namePath: releaseName ? `${sourcePath}.helm.releaseName` : 'metadata.name',
    namespace: helmNs || ctx.destinationNamespace,
    namespacePath: helmNs ? `${sourcePath}.helm.namespace` : 'spec.destination.namespace',
    set: [],
    setString: [],
    setFile: [],
    valueFiles: Array.isArray(helm.valueFiles) ? helm.valueFiles.filter((f): f is string => typeof f === 'string') : [],
    extraValues: null,
    skipSchemaValidation: helm.skipSchemaValidation === true,
    skipCrds: helm.skipCrds === true,
  };

  // values.go ValuesYAML(): a non-nil valuesObject replaces the values string entirely.
  if (helm.valuesObject !== undefined && helm.valuesObject !== null) {
    opts.extraValues = { text: '', fieldPath: `${sourcePath}.helm.valuesObject`, fromObject: true };
  } else if (typeof helm.values === 'string' && helm.values.length > 0) {
    opts.extraValues = { text: helm.values, fieldPath: `${sourcePath}.helm.values`, fromObject: false };
  }

  const env: ArgoEnv = {
    ARGOCD_APP_NAME: ctx.instanceName,
    ARGOCD_APP_NAMESPACE: ctx.destinationNamespace,
    ARGOCD_APP_PROJECT_NAME: ctx.project,
    ARGOCD_APP_SOURCE_REPO_URL: str(source.repoURL),
    ARGOCD_APP_SOURCE_PATH: str(source.path),
    ARGOCD_APP_SOURCE_TARGET_REVISION: str(source.targetRevision),
  };
  for (const v of SYNC_TIME_VARS) env[v] = syncTimeValue;
  const set = new Map<string, { value: string; fieldPath: string }>();
  const setString = new Map<string, { value: string; fieldPath: string }>();
  const params = Array.isArray(helm.parameters) ? helm.parameters : [];
  for (let i = 0; i < params.length; i++) {
    const p = params[i];
    if (!isObject(p)) continue;
    const name = str(p.name);
    (p.forceString === true ? setString : set).set(name, { value: paramValue(p.value), fieldPath: `${sourcePath}.helm.parameters[${i}]` });
  }
  const toArgs = (group: Map<string, { value: string; fieldPath: string }>, flag: SetArg['flag']): SetArg[] =>
    [...group].map(([name, { value, fieldPath }]) => {
      // Envsubst runs on the values after the collapse, never on the names.
      const sub = envsubst(value, env);
      const a: SetArg = { flag, arg: `${name}=${cleanSetParameters(sub.value)}`, name, fieldPath };
      if (sub.unknown.length > 0) a.unknown = `${fieldPath}.value uses $${sub.unknown.join(', $')}, only known at sync time`;
      return a;
    });
  opts.set = toArgs(set, '--set');
  opts.setString = toArgs(setString, '--set-string');

  const files = new Map<string, string>();
  const fileParams = Array.isArray(helm.fileParameters) ? helm.fileParameters : [];
  for (let i = 0; i < fileParams.length; i++) {
    const p = fileParams[i];
    if (isObject(p)) files.set(str(p.name), `${sourcePath}.helm.fileParameters[${i}]`);
  }
  // The path is resolved and substituted by Argo CD; Helm then reads the file, which we cannot.
  opts.setFile = [...files].map(([name, fieldPath]) => ({ flag: '--set-file' as const, arg: `${name}=file`, name, fieldPath }));
  return opts;
}

/**
 * cmd.go template(): the argument list, in the order Argo CD emits it (within each --set group the
 * order is Go's random map order; this returns one of them).
 */
export function templateArgs(opts: TemplateOpts, chartPath = '.', valuesFile = '<values>'): string[] {
  const args = ['template', chartPath, '--name-template', opts.name];
  if (opts.namespace !== '') args.push('--namespace', opts.namespace);
  for (const s of [...opts.set, ...opts.setString, ...opts.setFile]) args.push(s.flag, s.arg);
  for (const f of opts.valueFiles) args.push('--values', f);
  if (opts.extraValues) args.push('--values', valuesFile);
  if (!opts.skipCrds) args.push('--include-crds');
  if (opts.skipSchemaValidation) args.push('--skip-schema-validation');
  return args;
}
