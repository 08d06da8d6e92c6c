// npm run fidelity -- [--count N] [--seed S] [--helm 4.3|4.2|3.19] [--jobs J] [--chart 1.18.2]
//
// Differential test of cilium-guard's policy engine against the real thing: seeded random Cilium
// Applications (generate.ts), each rendered by the real helm of the chosen version from the real
// Cilium chart with the arguments Argo CD's repo-server builds (../e2e/ground-truth.ts), and judged
// by the engine with `helm.version` set to the same version. Prints every disagreement with a
// reproducer (seed, Application, helm arguments) and exits 1 if there is any.
//
// L1 needs a running Cilium: each baseline of generate.ts (a Talos install) is rendered once by the
// same helm, and its cilium-config is the cluster view the engine gets (with the agent at 1.18.2).
// Each seed picks a baseline and is judged as a CREATE, or as an UPDATE of the baseline's
// Application; the ground truth compares with the baseline's cilium-config when the Application
// deploys to this cluster (server https://kubernetes.default.svc or name in-cluster) or on UPDATE.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { stringify } from 'yaml';
import { resolveConfig } from '../../src/policy/config.js';
import { validate } from '../../src/policy/engine.js';
import type { ClusterView } from '../../src/policy/cluster-view.js';
import type { PolicyRequest } from '../../src/policy/types.js';
import { SHARED } from '../helpers/corpus.js';
import { STRICTER, compare, plan, prepareChart, renderJob, type Rendered } from '../e2e/ground-truth.js';
import { BASELINES, baselineApplication, generateCase, type Case } from './generate.js';

type Obj = Record<string, any>;

function option(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? (process.argv[i + 1] as string) : (process.env[`FIDELITY_${name.toUpperCase()}`] ?? fallback);
}

const count = Number(option('count', '300'));
const seed0 = Number(option('seed', '20261127'));
const helmVersion = option('helm', '4.3');
const jobs = Math.max(1, Number(option('jobs', '4')));
const chartVersion = option('chart', '1.18.2');
if (!Number.isInteger(count) || count < 1 || !Number.isInteger(seed0)) {
  process.stderr.write('usage: npm run fidelity -- [--count N] [--seed S] [--helm 4.3|4.2|3.19] [--jobs J] [--chart 1.18.2]\n');
  process.exit(2);
}
const resolved = resolveConfig({ helm: { version: helmVersion } });
if (!resolved.ok) {
  process.stderr.write(`fidelity: ${resolved.errors.join('; ')}\n`);
  process.exit(2);
}
const config = resolved.config;

/** How the engine's messages say a verdict took the parameter order (Go maps) into account. */
const ORDER_NOTE = /order Argo CD|Argo CD passes parameters in random order/;
/** Applications for which some finding says so: their other parameter orders are always rendered. */
const orderAware = new WeakSet<Obj>();

function findingsOf(app: Obj, operation: Case['operation'], oldObject: Obj | null, cluster: ClusterView | undefined): Map<string, Set<string>> {
  const req: PolicyRequest = {
    operation,
    kind: { group: 'argoproj.io', version: 'v1alpha1', kind: 'Application' },
    namespace: 'argocd',
    name: String(app.metadata?.name ?? ''),
    object: app,
    oldObject,
    userInfo: { username: 'fidelity' },
    dryRun: true,
  };
  const decision = validate(req, config, cluster ? { cluster } : {});
  const out = new Map<string, Set<string>>();
  if (decision.findings.some((f) => ORDER_NOTE.test(f.message))) orderAware.add(app);
  for (const f of decision.findings) {
    const v = f.verdict === 'deny' ? 'deny' : f.verdict === 'warn' ? 'warn' : f.verdict;
    out.set(f.rule, (out.get(f.rule) ?? new Set()).add(v));
  }
  return out;
}

/** The verdicts for an ApplicationSet whose list generator makes exactly `app`. */
function appSetFindingsOf(app: Obj): Map<string, Set<string>> {
  const name = String(app.metadata?.name ?? '');
  const { namespace: _ns, name: _name, ...meta } = (app.metadata ?? {}) as Obj;
  const appSet: Obj = {
    apiVersion: 'argoproj.io/v1alpha1',
    kind: 'ApplicationSet',
    metadata: { name: `${name}-set`, namespace: 'argocd' },
    spec: { generators: [{ list: { elements: [{ app: name }] } }], template: { metadata: { ...meta, name: '{{app}}' }, spec: app.spec } },
  };
  const req: PolicyRequest = {
    operation: 'CREATE',
    kind: { group: 'argoproj.io', version: 'v1alpha1', kind: 'ApplicationSet' },
    namespace: 'argocd',
    name: `${name}-set`,
    object: appSet,
    oldObject: null,
    userInfo: { username: 'fidelity' },
    dryRun: true,
  };
  const out = new Map<string, Set<string>>();
  for (const f of validate(req, config).findings) out.set(f.rule, (out.get(f.rule) ?? new Set()).add(f.verdict));
  return out;
}

const chart = await prepareChart(path.join(SHARED, 'upstream', 'cilium', `cilium-${chartVersion}.tgz`));
const home = mkdtempSync(path.join(os.tmpdir(), 'fidelity-helm-'));
const tally = { judged: 0, agreed: 0, stricter: 0, helmRefused: 0, unrenderable: 0, failed: 0, reordered: 0, appSets: 0, appSetAgreed: 0 };
const l1Tally = { judged: 0, agreed: 0, compared: 0, broken: 0, warnOnly: 0, refused: 0, updates: 0, orderDependent: 0 };

/** Does the Application deploy to this cluster (the one whose cilium-config the view shows)? Argo CD's in-cluster names. */
const deploysHere = (app: Obj): boolean => app.spec?.destination?.server === 'https://kubernetes.default.svc' || app.spec?.destination?.name === 'in-cluster';

// What Talos installed: each baseline rendered once by this helm; its cilium-config is what runs.
const baselines: Array<{ app: Obj; data: Record<string, string>; view: ClusterView }> = [];
{
  const work = mkdtempSync(path.join(os.tmpdir(), 'fidelity-baseline-'));
  for (const b of BASELINES) {
    const app = baselineApplication(b);
    const p = plan(app, work);
    if ('unrenderable' in p || p.jobs.length !== 1) throw new Error(`baseline ${b.name}: not one render job`);
    const r = await renderJob(chart, p.jobs[0]!, home, helmVersion);
    if (r.error || !r.configData || Object.keys(r.bad).length > 0) throw new Error(`baseline ${b.name} does not render cleanly: ${r.error ?? r.configRefused ?? JSON.stringify(r.bad)}`);
    const view: ClusterView = { ciliumConfig: { data: r.configData }, agent: { image: 'quay.io/cilium/cilium:v1.18.2', version: '1.18.2' } };
    // A baseline is what runs: the engine must find nothing wrong with it, on any rule.
    const own = findingsOf(app, 'CREATE', null, view);
    if (own.size > 0) throw new Error(`baseline ${b.name}: cilium-guard finds ${[...own].map(([k, v]) => `${k}:${[...v].join('/')}`).join(' ')}`);
    baselines.push({ app, data: r.configData, view });
  }
  rmSync(work, { recursive: true, force: true });
}
const stricterSeen = new Set<number>();
const started = Date.now();

async function one(i: number): Promise<void> {
  const seed = seed0 + i;
  const { app, baseline, operation } = generateCase(seed);
  const base = baselines[baseline]!;
  const oldObject = operation === 'UPDATE' ? base.app : null;
  const work = mkdtempSync(path.join(os.tmpdir(), `fidelity-${seed}-`));
  try {
    const p = plan(app, work);
    if ('unrenderable' in p) {
      tally.unrenderable++;
      return;
    }
    const results: Rendered[] = [];
    for (const job of p.jobs) results.push(await renderJob(chart, job, home, helmVersion));
    if (results.some((r) => r.error)) {
      // Argo CD could not render it, so it cannot reach the cluster: nothing to compare.
      tally.helmRefused++;
      return;
    }
    const findings = findingsOf(app, operation, oldObject, base.view);
    // The cilium-config the Application would replace: the live one if it deploys here, and on
    // UPDATE what the old Application rendered (the baseline either way); otherwise nothing.
    const running = deploysHere(app) || oldObject ? base.data : undefined;
    const judgeNow = () => compare(app, results, p.jobs.flatMap((j) => j.invisible), findings, running ? { running } : {});
    let verdict = judgeNow();
    if ((verdict.disagreements.length > 0 || orderAware.has(app)) && p.jobs.some((j) => j.otherOrders)) {
      // Before calling it a disagreement: does the outcome depend on the order of the parameters
      // (Go maps)? Then cilium-guard can only warn. Render the other orders and judge again. Also
      // when cilium-guard's verdict itself rests on the orders ("in every order", "in some"), to
      // check that claim against the chart.
      tally.reordered++;
      for (const [k, job] of p.jobs.entries()) {
        const others: Rendered[] = [];
        for (const args of job.otherOrders ?? []) others.push(await renderJob(chart, { ...job, args }, home, helmVersion));
        if (others.length > 0) results[k]!.otherOrders = others;
      }
      verdict = judgeNow();
    }
    // The same Application as the user's file really is: generated by an ApplicationSet (a list
    // generator with one element naming it). Its template is judged before generation, against
    // the same render (the generated Application is this one), on the rules that do not compare
    // with what runs.
    if (operation === 'CREATE' && !JSON.stringify(app).includes('{{') && app.operation === undefined) {
      tally.appSets++;
      const setFindings = appSetFindingsOf(app);
      const set = compare(app, results, p.jobs.flatMap((j) => j.invisible), setFindings);
      verdict.disagreements.push(...set.disagreements.map((d) => `as an ApplicationSet's template: ${d}`));
      tally.appSetAgreed += set.agreed;
    }
    const { disagreements, stricter, agreed, l1 } = verdict;
    if (l1) {
      l1Tally.judged++;
      if (l1.agreed) l1Tally.agreed++;
      if (l1.compared) l1Tally.compared++;
      if (l1.broken.length > 0) l1Tally.broken++;
      if (l1.warnOnly.length > 0) l1Tally.warnOnly++;
      if (l1.refused) l1Tally.refused++;
      if (l1.orderDependent) l1Tally.orderDependent++;
      if (operation === 'UPDATE') l1Tally.updates++;
    }
    tally.judged++;
    tally.agreed += agreed;
    tally.stricter += stricter.length;
    stricter.forEach((s) => stricterSeen.add(s));
    if (disagreements.length > 0) {
      tally.failed++;
      const helmArgs = p.jobs.map((j) => `helm template cilium-${chartVersion}.tgz ${j.args.map((a) => (/^[\w./=:-]+$/.test(a) ? a : JSON.stringify(a))).join(' ')}`);
      const seen = [...findings].map(([r, v]) => `${r}:${[...v].join('/')}`).join(' ') || 'nothing';
      process.stdout.write(
        `\nDISAGREEMENT seed ${seed} (helm ${helmVersion}, ${operation}${oldObject ? ' of' : ' over'} baseline ${BASELINES[baseline]!.name}${running ? '' : ', nothing running to compare with'}):\n  ${disagreements.join('\n  ')}\n  cilium-guard found: ${seen}\n` +
          (l1 && (l1.broken.length > 0 || l1.warnOnly.length > 0) ? `  L1 per the chart: ${[...l1.broken, ...l1.warnOnly.map((w) => `${w} (warn key)`)].join('; ')}\n` : '') +
          `  reproduce: npm run fidelity -- --seed ${seed} --count 1 --helm ${helmVersion}\n  ${helmArgs.join('\n  ')}\n` +
          stringify(app).replace(/^/gm, '    '),
      );
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

let next = 0;
await Promise.all(
  Array.from({ length: Math.min(jobs, count) }, async () => {
    while (next < count) await one(next++);
  }),
);
rmSync(path.dirname(chart), { recursive: true, force: true });
rmSync(home, { recursive: true, force: true });

const seconds = ((Date.now() - started) / 1000).toFixed(0);
process.stdout.write(
  `\nfidelity: ${count} random Applications (seeds ${seed0}..${seed0 + count - 1}), helm ${helmVersion}, cilium ${chartVersion}, ${seconds} s\n` +
    `  judged against a render: ${tally.judged} (${tally.agreed} rule verdicts agree, ${tally.stricter} deliberately stricter: ${[...stricterSeen].map((i) => STRICTER[i]?.why).join('; ') || 'none'})\n` +
    `  helm refused to render (nothing reaches the cluster): ${tally.helmRefused}; not renderable here: ${tally.unrenderable}\n` +
    `  L1 (baselines ${BASELINES.map((b) => b.name).join(', ')}): ${l1Tally.agreed} of ${l1Tally.judged} verdicts agree; ${l1Tally.compared} against a running cilium-config ` +
    `(${l1Tally.updates} UPDATEs of the baseline's Application), ${l1Tally.broken} where the chart breaks it, ${l1Tally.warnOnly} changing warn keys only, ` +
    `${l1Tally.refused} whose cilium-config the API server would refuse, ${l1Tally.orderDependent} broken in some parameter orders only\n` +
    `  rendered again in every parameter order (Go maps): ${tally.reordered}\n` +
    `  judged again as an ApplicationSet's template (list generator): ${tally.appSets} (${tally.appSetAgreed} rule verdicts agree)\n` +
    `fidelity: ${tally.judged - tally.failed} passed, ${tally.failed} failed\n`,
);
process.exit(tally.failed > 0 || tally.judged === 0 ? 1 : 0);
