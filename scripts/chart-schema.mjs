// Writes charts/cilium-guard/values.schema.json. The `policy` part is the policy file's own schema
// (src/policy/config.ts) less breakGlass, which the chart sets from its top-level breakGlass; a test
// fails when the committed file differs from what this script writes. Run: npm run chart:schema
import { writeFileSync } from 'node:fs';
import { CONFIG_SCHEMA } from '../dist/src/policy/config.js';

const str = { type: 'string' };
const bool = { type: 'boolean' };
const obj = (properties, extra = {}) => ({ type: 'object', additionalProperties: false, properties, ...extra });
const freeMap = { type: 'object', additionalProperties: { type: 'string' } };
const list = { type: 'array' };
const k8sName = { type: 'string', pattern: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$', maxLength: 63 };
const nameOrEmpty = { anyOf: [{ const: '' }, k8sName] };
const port = { type: 'integer', minimum: 1, maximum: 65535 };
const duration = { type: 'string', pattern: '^([0-9]+h)?([0-9]+m)?([0-9]+s)?$', minLength: 2 };
const failurePolicy = { enum: ['Fail', 'Ignore'] };
const timeout = { type: 'integer', minimum: 1, maximum: 30 };
const webhook = (more = {}) => obj({ enabled: bool, failurePolicy, timeoutSeconds: timeout, ...more }, { required: ['enabled', 'failurePolicy', 'timeoutSeconds'] });
const labelSelector = obj({ matchLabels: freeMap, matchExpressions: list });

const { breakGlass: _dropped, ...policyProperties } = CONFIG_SCHEMA.properties;

const schema = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  title: 'cilium-guard Helm values',
  ...obj({
    global: { type: 'object' },
    nameOverride: { anyOf: [{ const: '' }, k8sName] },
    fullnameOverride: { anyOf: [{ const: '' }, k8sName] },
    image: obj(
      {
        repository: { type: 'string', minLength: 1 },
        tag: str,
        digest: { anyOf: [{ const: '' }, { type: 'string', pattern: '^sha256:[a-f0-9]{64}$' }] },
        pullPolicy: { enum: ['Always', 'IfNotPresent', 'Never'] },
      },
      { required: ['repository'] },
    ),
    imagePullSecrets: { type: 'array', items: obj({ name: k8sName }, { required: ['name'] }) },
    replicas: { type: 'integer', minimum: 1 },
    priorityClassName: str,
    podAnnotations: freeMap,
    podLabels: freeMap,
    nodeSelector: freeMap,
    tolerations: list,
    affinity: { type: 'object' },
    topologySpread: obj({ enabled: bool, whenUnsatisfiable: { enum: ['ScheduleAnyway', 'DoNotSchedule'] } }),
    resources: obj({ requests: { type: 'object' }, limits: { type: 'object' }, claims: list }),
    hostNetwork: bool,
    ports: obj({ webhook: port, metrics: port }, { required: ['webhook', 'metrics'] }),
    preStopSleepSeconds: { type: 'integer', minimum: 0, maximum: 300 },
    terminationGracePeriodSeconds: { type: 'integer', minimum: 1 },
    logLevel: { enum: ['fatal', 'error', 'warn', 'info', 'debug', 'trace'] },
    extraEnv: { type: 'array', items: obj({ name: { type: 'string', minLength: 1 }, value: str, valueFrom: { type: 'object' } }, { required: ['name'] }) },
    events: obj({ enabled: bool, burst: { type: 'integer', minimum: 1 }, perSecond: { type: 'number', exclusiveMinimum: 0 }, unauthenticated: bool }),
    tls: obj({ minVersion: { enum: ['1.2', '1.3'] } }),
    clientAuth: obj({
      enabled: bool,
      caConfigMap: nameOrEmpty,
      caSecret: nameOrEmpty,
      caKey: { type: 'string', pattern: '^[-._a-zA-Z0-9]+$', maxLength: 253 },
      names: { type: 'array', items: { type: 'string', minLength: 1, pattern: '^[^,\\s]+$' } },
    }),
    clusterView: obj({ enabled: bool, namespace: k8sName }),
    podDisruptionBudget: obj({ enabled: bool, maxUnavailable: { anyOf: [{ type: 'integer', minimum: 0 }, { type: 'string', pattern: '^[0-9]+%$' }] } }),
    serviceAccount: obj({ annotations: freeMap }),
    certificates: obj(
      {
        mode: { enum: ['selfSigned', 'certManager', 'existingSecret'] },
        selfSigned: obj({
          caValidity: duration,
          certValidity: duration,
          renewFraction: { type: 'number', exclusiveMinimum: 0, maximum: 0.9 },
          overlap: duration,
          checkInterval: duration,
        }),
        certManager: obj({
          issuerRef: { anyOf: [obj({}), obj({ name: k8sName, kind: str, group: str }, { required: ['name'] })] },
          duration,
          renewBefore: duration,
        }),
        existingSecret: obj({ name: nameOrEmpty, caBundle: str }),
      },
      { required: ['mode'] },
    ),
    webhooks: obj({
      url: { anyOf: [{ const: '' }, { type: 'string', pattern: '^https://[^/?#]+$' }] },
      applications: webhook({ namespaces: { type: 'array', items: k8sName } }),
      ciliumConfig: webhook(),
      argocdCm: webhook({ objectSelector: labelSelector }),
    }),
    breakGlass: obj({ groups: { type: 'array', items: { type: 'string', minLength: 1 } }, users: { type: 'array', items: { type: 'string', minLength: 1 } } }),
    validatingAdmissionPolicy: obj({
      enabled: bool,
      validationActions: { type: 'array', minItems: 1, uniqueItems: true, items: { enum: ['Deny', 'Warn', 'Audit'] } },
    }),
    policy: { ...CONFIG_SCHEMA, properties: policyProperties },
    networkPolicy: obj({ enabled: bool, webhookFrom: list, metricsFrom: list, egress: list }),
    ciliumNetworkPolicy: obj({
      enabled: bool,
      webhookFromEntities: {
        type: 'array',
        minItems: 1,
        items: { enum: ['all', 'world', 'cluster', 'host', 'init', 'ingress', 'unmanaged', 'remote-node', 'health', 'none', 'kube-apiserver'] },
      },
      metricsFromEndpoints: { type: 'array', items: labelSelector },
    }),
    metrics: obj({
      serviceMonitor: obj({ enabled: bool, interval: duration, labels: freeMap }),
      prometheusRule: obj({
        enabled: bool,
        labels: freeMap,
        latencyThresholdSeconds: { type: 'number', exclusiveMinimum: 0 },
        certificateExpiryWarning: duration,
        eventsFailingThreshold: { type: 'number', minimum: 0 },
        runbookBaseURL: { type: 'string', minLength: 1 },
      }),
      grafanaDashboard: obj({ enabled: bool, namespace: str, labels: freeMap, annotations: freeMap }),
    }),
    tests: obj({ applicationNamespace: k8sName }),
  }),
};

const out = new URL('../charts/cilium-guard/values.schema.json', import.meta.url);
writeFileSync(out, JSON.stringify(schema, null, 2) + '\n');
process.stdout.write(`wrote ${out.pathname}\n`);
