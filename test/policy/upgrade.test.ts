// U1: the chart version an Application installs stays within one minor of what runs: the old
// Application on UPDATE, and the cluster view's agent when the Application deploys here.
import t from 'tap';
import { applicationRequest } from '../helpers/review.js';
import type { ClusterView } from '../../src/policy/cluster-view.js';
import { defaultConfig } from '../../src/policy/config.js';
import { validate } from '../../src/policy/engine.js';
import type { Decision, JsonObject } from '../../src/policy/types.js';
import { targetRevisions } from '../../src/policy/upgrade.js';
import { example } from '../helpers/corpus.js';

const config = defaultConfig();
const good = example('01-app-cilium-good.yaml') as JsonObject;
const multi = example('02-app-cilium-multisource-good.yaml') as JsonObject;

function app(revision: string, edit: (a: any) => void = () => {}, base: JsonObject = good): JsonObject {
  const a = structuredClone(base) as any;
  if (a.spec.source) a.spec.source.targetRevision = revision;
  else a.spec.sources[0].targetRevision = revision;
  edit(a);
  return a;
}

const running = (version: string): ClusterView => ({ agent: { image: `quay.io/cilium/cilium:v${version}@sha256:abc`, version } });

function judge(object: JsonObject, oldObject: JsonObject | null, cluster?: ClusterView): Decision {
  return validate(applicationRequest(object, oldObject), config, cluster ? { cluster } : {});
}

const u1 = (d: Decision) => d.findings.filter((f) => f.rule === 'U1');

t.test('nothing to compare with: no finding', async (t) => {
  t.same(u1(judge(app('1.14.0'), null)), [], 'a CREATE without a cluster view');
});

t.test('against the running agent: the next minor, the previous one and patches pass; two minors away is denied', async (t) => {
  for (const v of ['1.18.1', '1.18.9', '1.19.0', '1.17.3', 'v1.19.2']) t.same(u1(judge(app(v), null, running('1.18.1'))), [], v);
  const up = judge(app('1.18.6'), null, running('1.16.4'));
  t.equal(up.allowed, false);
  t.match(u1(up), [
    {
      verdict: 'deny',
      path: 'spec.source.targetRevision',
      value: '1.18.6',
      message: 'spec.source.targetRevision is 1.18.6, an upgrade of 2 minor versions from 1.16.4 (the running cilium-agent (quay.io/cilium/cilium:v1.16.4@sha256:abc)); Cilium supports upgrades and rollbacks only between consecutive minor releases: go to the latest 1.17.x first',
    },
  ]);
  t.match(up.message, /^cilium-guard denied Application argocd\/cilium: \[U1\] /);
  t.match(u1(judge(app('1.16.0'), null, running('1.18.2'))), [{ verdict: 'deny', message: /a downgrade of 2 minor versions from 1\.18\.2 .* go to the latest 1\.17\.x first$/ }]);
  t.match(u1(judge(app('2.0.0'), null, running('1.18.2'))), [{ verdict: 'deny', message: /an upgrade of a major version from 1\.18\.2 .* go to one minor release at a time$/ }]);
});

t.test('on UPDATE, against the old Application, with or without a view', async (t) => {
  t.same(u1(judge(app('1.19.0'), app('1.18.6'))), [], 'one minor up');
  const skip = judge(app('1.20.0'), app('1.18.6'));
  t.match(u1(skip), [{ verdict: 'deny', message: /an upgrade of 2 minor versions from 1\.18\.6 \(the previous spec\.source\.targetRevision \(1\.18\.6\)\)/ }]);
  const both = u1(judge(app('1.20.0'), app('1.18.6'), running('1.17.2')));
  t.same(both.map((f) => f.subject), ['chart version vs running', 'chart version vs previous'], 'each reference that is too far is named');
});

t.test('an unchanged version already far from what runs is pre-existing: a warning, not a denial', async (t) => {
  const old = app('1.16.0');
  const edited = app('1.16.0', (a) => (a.spec.revisionHistoryLimit = 5));
  t.match(u1(judge(edited, old, running('1.18.1'))), [{ verdict: 'warn', downgrade: 'pre-existing' }]);
});

t.test('a range, a branch or an empty targetRevision is at most a warning', async (t) => {
  for (const v of ['1.18.*', '>=1.16.0 <1.19.0', '~1.18', 'main', '']) {
    const d = judge(app(v), null, running('1.18.1'));
    t.equal(d.allowed, true, `"${v}" is allowed`);
    t.match(u1(d), [{ verdict: 'warn', downgrade: 'unverifiable', certain: false, message: /not an exact chart version.*pin an exact version, 1\.18\.x or 1\.19\.x$/ }], `"${v}"`);
  }
});

t.test('another cluster: judged on old vs new only, never on this cluster\'s agent', async (t) => {
  const remote = (v: string) => app(v, (a) => (a.spec.destination = { server: 'https://prod.example:6443', namespace: 'kube-system' }));
  t.same(u1(judge(remote('1.14.0'), null, running('1.18.1'))), []);
  t.match(u1(judge(remote('1.20.0'), remote('1.18.0'), running('1.20.0'))), [{ verdict: 'deny', subject: 'chart version vs previous' }]);
  t.same(u1(judge(app('1.18.2', () => {}, multi), null, running('1.18.1'))), [], 'destination name in-cluster is this cluster');
  t.match(u1(judge(app('1.16.2', () => {}, multi), null, running('1.18.1'))), [{ verdict: 'deny' }]);
});

t.test('a pending sync: operation.sync.source and operation.sync.revision are the versions it installs', async (t) => {
  const pending = app('1.18.6', (a) => (a.operation = { sync: { source: { ...a.spec.source, targetRevision: '1.16.1' } } }));
  t.same(targetRevisions(pending, config), [
    { path: 'spec.source.targetRevision', revision: '1.18.6' },
    { path: 'operation.sync.source.targetRevision', revision: '1.16.1' },
  ]);
  t.match(u1(judge(pending, null, running('1.18.1'))), [{ verdict: 'deny', path: 'operation.sync.source.targetRevision' }]);
  const revision = app('1.18.6', (a) => (a.operation = { sync: { source: a.spec.source, revision: '1.20.0' } }));
  t.match(u1(judge(revision, null, running('1.18.1'))), [{ verdict: 'deny', path: 'operation.sync.revision', value: '1.20.0' }]);
});

t.test('a stale view only warns; an unavailable one warns that it could not compare', async (t) => {
  const stale = u1(judge(app('1.16.0'), null, { ...running('1.18.2'), stale: true }));
  t.match(stale, [{ verdict: 'warn', downgrade: 'unverifiable', message: /from 1\.18\.2 \(the running cilium-agent \(.*\) as last seen \(the view may be stale\)\)/ }]);
  const pending = u1(judge(app('1.16.0'), null, { unavailable: 'cannot read what runs: 403' }));
  t.match(pending, [{ verdict: 'warn', subject: 'chart version vs running', message: /cannot compare spec\.source\.targetRevision \(1\.16\.0\) with the running cilium-agent \(cannot read what runs: 403\)/ }]);
  // The old Application still counts when the view is unavailable.
  const both = u1(judge(app('1.20.0'), app('1.18.6'), { unavailable: 'pending' }));
  t.same(both.map((f) => f.verdict), ['warn', 'deny']);
  const remote = app('1.16.0', (a) => (a.spec.destination = { server: 'https://prod.example.com:6443', namespace: 'kube-system' }));
  t.same(u1(judge(remote, null, { unavailable: 'pending' })), [], 'another cluster: the view is not about it');
});
