// npm run fidelity -- [--count N] [--seed S] [--helm 4.3|4.2|3.19] [--jobs J] [--chart 1.18.2]
//
// Differential test of cilium-guard's policy engine against the real thing: seeded random Cilium
// Applications (generate.ts), each rendered by the real helm of the chosen version from the real
// Cilium chart with the arguments Argo CD's repo-server builds (../e2e/ground-truth.ts), and judged
// by the engine with `helm.version` set to the same version. Prints every disagreement with a
// reproducer (seed, Application, helm arguments) and exits 1 if there is any.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { stringify } from 'yaml';
import { resolveConfig } from '../../src/policy/config.js';
import { validate } from '../../src/policy/engine.js';
import type { PolicyRequest } from '../../src/policy/types.js';
import { SHARED } from '../helpers/corpus.js';
import { STRICTER, compare, plan, prepareChart, renderJob, type Rendered } from '../e2e/ground-truth.js';
import { generateApplication } from './generate.js';

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

function findingsOf(app: Obj): Map<string, Set<string>> {
  const req: PolicyRequest = {
    operation: 'CREATE',
    kind: { group: 'argoproj.io', version: 'v1alpha1', kind: 'Application' },
    namespace: 'argocd',
    name: String(app.metadata?.name ?? ''),
    object: app,
    oldObject: null,
    userInfo: { username: 'fidelity' },
    dryRun: true,
  };
  const decision = validate(req, config);
  const out = new Map<string, Set<string>>();
  for (const f of decision.findings) {
    const v = f.verdict === 'deny' ? 'deny' : f.verdict === 'warn' ? 'warn' : f.verdict;
    out.set(f.rule, (out.get(f.rule) ?? new Set()).add(v));
  }
  return out;
}

const chart = await prepareChart(path.join(SHARED, 'upstream', 'cilium', `cilium-${chartVersion}.tgz`));
const home = mkdtempSync(path.join(os.tmpdir(), 'fidelity-helm-'));
const tally = { judged: 0, agreed: 0, stricter: 0, helmRefused: 0, unrenderable: 0, failed: 0 };
const stricterSeen = new Set<number>();
const started = Date.now();

async function one(i: number): Promise<void> {
  const seed = seed0 + i;
  const app = generateApplication(seed);
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
    const findings = findingsOf(app);
    const { disagreements, stricter, agreed } = compare(app, results, p.jobs.flatMap((j) => j.invisible), findings);
    tally.judged++;
    tally.agreed += agreed;
    tally.stricter += stricter.length;
    stricter.forEach((s) => stricterSeen.add(s));
    if (disagreements.length > 0) {
      tally.failed++;
      const helmArgs = p.jobs.map((j) => `helm template cilium-${chartVersion}.tgz ${j.args.map((a) => (/^[\w./=:-]+$/.test(a) ? a : JSON.stringify(a))).join(' ')}`);
      const seen = [...findings].map(([r, v]) => `${r}:${[...v].join('/')}`).join(' ') || 'nothing';
      process.stdout.write(
        `\nDISAGREEMENT seed ${seed} (helm ${helmVersion}):\n  ${disagreements.join('\n  ')}\n  cilium-guard found: ${seen}\n` +
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
    `fidelity: ${tally.judged - tally.failed} passed, ${tally.failed} failed\n`,
);
process.exit(tally.failed > 0 || tally.judged === 0 ? 1 : 0);
