// The policy file: every value a rule uses, with the seed's values as defaults.
// Pure: it takes an already-parsed object and returns a complete config or the errors that name
// the offending field. Reading the file is the CLI's job.
import { Ajv, type ErrorObject } from 'ajv';
import { isObject } from './json.js';
import { DEFAULT_RULE_DOCS_URL } from './rules.js';
import { RULE_IDS, type Mode, type RuleId } from './types.js';
import type { YamlLimits } from './yaml11.js';
import { DEFAULT_HELM_VERSION, HELM_VERSIONS, type HelmVersion } from './values/helm-version.js';

export interface ExclusionEntry {
  apiGroups: string[];
  kinds: string[];
  clusters: string[];
}

export interface PolicyConfig {
  cilium: {
    namespace: string;
    releaseName: string;
    configMapName: string;
    k8sServiceHost: string;
    k8sServicePort: string;
    /** Values of kubeProxyReplacement that count as "on". Add "strict" only for Cilium 1.14. */
    kubeProxyReplacementOn: string[];
  };
  identify: {
    /** Helm chart names that are Cilium, from any Helm repository. */
    charts: string[];
    /** repoURL suffixes of OCI sources (no `chart` field) that are Cilium. */
    ociRepoSuffixes: string[];
    /** Paths in a Git repository that hold the Cilium chart. */
    gitPaths: string[];
    /** Applications that are Cilium whatever they render: "namespace/name". */
    applications: string[];
    /**
     * Destinations that mean "this cluster" (server URL or cluster name). Empty: every
     * destination, so an Application aimed at a cluster we cannot resolve is still guarded.
     */
    destinations: string[];
  };
  syncOptions: {
    required: string;
    forbidden: string[];
  };
  argocd: {
    configMapName: string;
    /** Namespaces where argocd-cm is Argo CD's own. Empty: any namespace. */
    namespaces: string[];
    partOfLabel: string;
    exclusion: ExclusionEntry;
  };
  breakGlass: {
    groups: string[];
    users: string[];
  };
  helm: {
    /**
     * The Helm that renders the chart: the one the user's Argo CD bundles (3.4: "3.19", 3.5: "4.2",
     * 3.6: "4.3"). It decides how a values string with several YAML documents is read and how nulls
     * coalesce.
     */
    version: HelmVersion;
  };
  talos: {
    /** The cluster runs Talos Linux: T1 and T2 apply. False turns the Talos profile off. */
    enabled: boolean;
  };
  docs: {
    /**
     * Each rule's documentation page, `{rule}` replaced by the rule id: named in denials, warnings,
     * Events, PolicyReports and `cilium-guard rules`. Empty: no links.
     */
    ruleURL: string;
  };
  limits: {
    /** Largest Helm values string (bytes) the engine parses. */
    valuesBytes: number;
    /** Most alias expansions in one YAML string (YAML bombs). */
    yamlAliases: number;
    /** Deepest nesting of one YAML or JSON value. */
    depth: number;
  };
  rules: Record<RuleId, { mode: Mode }>;
}

export const DEFAULT_RULE_MODES: Record<RuleId, Mode> = {
  R1: 'deny',
  R2: 'deny',
  R3: 'deny',
  'R3.replace': 'deny',
  R4: 'deny',
  'R4.endpoint': 'deny',
  R5: 'deny',
  V1: 'deny',
  A1: 'warn',
  D1: 'deny',
  U1: 'deny',
  L1: 'deny',
  C1: 'deny',
  C2: 'deny',
  M1: 'deny',
  T1: 'deny',
  T2: 'deny',
};

export function defaultConfig(): PolicyConfig {
  return {
    cilium: {
      namespace: 'kube-system',
      releaseName: 'cilium',
      configMapName: 'cilium-config',
      k8sServiceHost: 'localhost',
      k8sServicePort: '7445',
      kubeProxyReplacementOn: ['true'],
    },
    identify: {
      charts: ['cilium'],
      ociRepoSuffixes: ['/cilium'],
      gitPaths: ['install/kubernetes/cilium'],
      applications: [],
      destinations: [],
    },
    syncOptions: { required: 'ServerSideApply=true', forbidden: ['Replace=true'] },
    argocd: {
      configMapName: 'argocd-cm',
      namespaces: [],
      partOfLabel: 'argocd',
      exclusion: { apiGroups: ['cilium.io'], kinds: ['CiliumIdentity'], clusters: ['*'] },
    },
    breakGlass: { groups: ['cilium-guard:break-glass'], users: [] },
    helm: { version: DEFAULT_HELM_VERSION },
    talos: { enabled: true },
    docs: { ruleURL: DEFAULT_RULE_DOCS_URL },
    // 256 KiB: the chart's whole values.yaml (comments included) is about 160 KB and reads in ~60 ms;
    // the worst 256 KiB (one small node per line) takes ~0.7 s on the CI machine, 1 MiB ~3 s.
    limits: { valuesBytes: 256 * 1024, yamlAliases: 100, depth: 64 },
    rules: Object.fromEntries(RULE_IDS.map((id) => [id, { mode: DEFAULT_RULE_MODES[id] }])) as Record<
      RuleId,
      { mode: Mode }
    >,
  };
}

const stringList = { type: 'array', items: { type: 'string' } } as const;
const nonEmpty = { type: 'string', minLength: 1 } as const;

export const CONFIG_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  properties: {
    cilium: {
      type: 'object',
      additionalProperties: false,
      properties: {
        namespace: nonEmpty,
        releaseName: nonEmpty,
        configMapName: nonEmpty,
        k8sServiceHost: nonEmpty,
        k8sServicePort: { anyOf: [nonEmpty, { type: 'integer', minimum: 1, maximum: 65535 }] },
        kubeProxyReplacementOn: { ...stringList, minItems: 1 },
      },
    },
    identify: {
      type: 'object',
      additionalProperties: false,
      properties: {
        charts: stringList,
        ociRepoSuffixes: stringList,
        gitPaths: stringList,
        applications: { type: 'array', items: { type: 'string', pattern: '^[^/]+/[^/]+$' } },
        destinations: stringList,
      },
    },
    syncOptions: {
      type: 'object',
      additionalProperties: false,
      properties: { required: nonEmpty, forbidden: stringList },
    },
    argocd: {
      type: 'object',
      additionalProperties: false,
      properties: {
        configMapName: nonEmpty,
        namespaces: stringList,
        partOfLabel: nonEmpty,
        exclusion: {
          type: 'object',
          additionalProperties: false,
          required: ['apiGroups', 'kinds', 'clusters'],
          properties: { apiGroups: stringList, kinds: stringList, clusters: stringList },
        },
      },
    },
    breakGlass: {
      type: 'object',
      additionalProperties: false,
      properties: { groups: stringList, users: stringList },
    },
    helm: {
      type: 'object',
      additionalProperties: false,
      properties: { version: { enum: [...HELM_VERSIONS] } },
    },
    talos: {
      type: 'object',
      additionalProperties: false,
      properties: { enabled: { type: 'boolean' } },
    },
    docs: {
      type: 'object',
      additionalProperties: false,
      properties: { ruleURL: { type: 'string', pattern: '^$|^https?://\\S*\\{rule\\}\\S*$' } },
    },
    limits: {
      type: 'object',
      additionalProperties: false,
      properties: {
        valuesBytes: { type: 'integer', minimum: 1024, maximum: 16 * 1024 * 1024 },
        yamlAliases: { type: 'integer', minimum: 0, maximum: 10000 },
        depth: { type: 'integer', minimum: 4, maximum: 512 },
      },
    },
    rules: {
      type: 'object',
      additionalProperties: false,
      properties: Object.fromEntries(
        RULE_IDS.map((id) => [
          id,
          {
            type: 'object',
            additionalProperties: false,
            required: ['mode'],
            properties: { mode: { enum: ['deny', 'warn', 'audit'] } },
          },
        ]),
      ),
    },
  },
} as const;

const validateSchema = new Ajv({ allErrors: true, strict: true }).compile(CONFIG_SCHEMA);

function describe(error: ErrorObject): string {
  const where = error.instancePath === '' ? '(top level)' : error.instancePath.slice(1).replaceAll('/', '.');
  if (error.keyword === 'additionalProperties') {
    const extra = (error.params as { additionalProperty: string }).additionalProperty;
    return `${where === '(top level)' ? '' : where + '.'}${extra}: unknown field`;
  }
  if (error.keyword === 'enum') {
    return `${where}: must be one of ${(error.params as { allowedValues: unknown[] }).allowedValues.join(', ')}`;
  }
  return `${where}: ${error.message ?? 'is invalid'}`;
}


/** Deep-merges the user's sections over the defaults; lists replace, they are not appended. */
function overlay(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) {
    const b = base[k];
    out[k] = isObject(b) && isObject(v) ? overlay(b, v) : v;
  }
  return out;
}

export type ConfigResult = { ok: true; config: PolicyConfig } | { ok: false; errors: string[] };

/** Checks a parsed policy document against the schema and fills in every default. */
export function resolveConfig(input: unknown): ConfigResult {
  if (input === null || input === undefined) return { ok: true, config: defaultConfig() };
  if (!isObject(input)) return { ok: false, errors: ['(top level): must be a mapping'] };
  if (!validateSchema(input)) {
    const errors = (validateSchema.errors ?? []).map(describe);
    return { ok: false, errors: [...new Set(errors)] };
  }
  const merged = overlay(defaultConfig() as unknown as Record<string, unknown>, input) as unknown as PolicyConfig;
  merged.cilium.k8sServicePort = String(merged.cilium.k8sServicePort);
  return { ok: true, config: merged };
}

/** The bounds every YAML string from a request is read within. */
export function yamlLimits(config: PolicyConfig): YamlLimits {
  return { bytes: config.limits.valuesBytes, aliases: config.limits.yamlAliases, depth: config.limits.depth };
}

export function modeOf(config: PolicyConfig, rule: RuleId): Mode {
  return config.rules[rule].mode;
}
