// `check --output github`: workflow commands GitHub reads back exactly, and the line of each finding.
import t from 'tap';
import { annotations, escapeData, escapeProperty, locate, parseSource, pathSegments, renderGithub, workflowCommand } from '../../src/cli/annotations.js';
import { render, summarize, type ObjectReport } from '../../src/cli/report.js';
import { annotationsOf, parseWorkflowCommand, workflowCommands } from '../helpers/workflow-commands.js';

t.test('escaping round-trips through the runner parser', async (t) => {
  const nasty = 'a%b\r\nc::d,e=f%0A%25 "q" ::warning::x';
  t.equal(escapeData('100%\n'), '100%25%0A');
  t.equal(escapeProperty('eu,west:a%'), 'eu%2Cwest%3Aa%25');
  const line = workflowCommand('error', { file: `dir,1/${nasty}.yaml`, line: 7, title: `cilium-guard ${nasty}` }, nasty);
  t.notOk(line.includes('\n') || line.includes('\r'), 'one line');
  const cmd = parseWorkflowCommand(line);
  t.same(cmd, { command: 'error', properties: { file: `dir,1/${nasty}.yaml`, line: '7', title: `cilium-guard ${nasty}` }, message: nasty });
  t.equal(workflowCommand('notice', { file: undefined, title: '' }, 'm'), '::notice::m', 'empty properties are left out');
});

t.test('sources and paths', async (t) => {
  t.same(parseSource('apps/a.yaml#2'), { file: 'apps/a.yaml', doc: 2 });
  t.same(parseSource('apps/a#b.yaml#3[1]'), { file: 'apps/a#b.yaml', doc: 3, item: 1 });
  t.same(parseSource('stdin#1'), { doc: 1 });
  t.same(parseSource('missing.yaml'), { file: 'missing.yaml' });
  t.same(pathSegments('spec.sources[0].helm.valuesObject.ipam.mode'), ['spec', 'sources', 0, 'helm', 'valuesObject', 'ipam', 'mode']);
  t.same(pathSegments('a[1][2].b'), ['a', 1, 2, 'b']);
});

const multi = `# leading comment
apiVersion: v1
kind: Namespace
metadata: {name: x}
---
# doc 2 comment

apiVersion: v1
kind: ConfigMap
metadata:
  name: cilium-config
  annotations:
    argocd.argoproj.io/sync-options: Replace=true
data:
  text: |
    ---
    not a separator
  kube-proxy-replacement: "false"
--- # three
apiVersion: v1
kind: List
items:
  - kind: A
  - kind: B
    spec:
      sources:
        - x: 1
        - x: 2
`;

t.test('locate: document starts, keys, dotted keys, List items, block scalars', async (t) => {
  t.equal(locate(multi, 1)?.line, 2, 'first document: past the comment');
  t.equal(locate(multi, 2)?.line, 8, 'second document: past ---, the comment and the blank line');
  t.equal(locate(multi, 2, 'data.kube-proxy-replacement')?.line, 18, 'a --- inside a block scalar is no separator');
  t.equal(locate(multi, 2, 'metadata.annotations.argocd.argoproj.io/sync-options')?.line, 13, 'a key with dots');
  t.equal(locate(multi, 2, 'data.missing.deeper')?.line, 14, 'the deepest key that exists');
  t.equal(locate(multi, 2, 'nothing.here')?.line, 8, 'no key on the path: the document');
  t.equal(locate(multi, 3)?.line, 20);
  t.equal(locate(multi, 3, 'spec.sources[1].x', 1)?.line, 28, 'an item of a List');
  t.equal(locate(multi, 4), undefined, 'no such document');
  t.equal(locate('{"kind": "A",\n "spec": {\n  "x": 1}}\n', 1, 'spec.x')?.line, 3, 'JSON');
});

const obj = (o: Partial<ObjectReport>): ObjectReport => ({ source: 'x', kind: 'Application', namespace: 'argocd', name: 'cilium', allowed: true, findings: [], ...o });

t.test('annotations: levels, relative files, lines, input errors, standard input', async (t) => {
  const files: Record<string, string> = { '/repo/apps/a.yaml': multi };
  const report = summarize('check', {
    objects: [
      obj({
        source: '/repo/apps/a.yaml#2',
        kind: 'ConfigMap',
        namespace: 'kube-system',
        name: 'cilium-config',
        allowed: false,
        findings: [
          { rule: 'C1', verdict: 'deny', path: 'data.kube-proxy-replacement', message: '100% "false"\nset it to "true"' },
          { rule: 'R3.replace', verdict: 'warn', path: 'metadata.annotations.argocd.argoproj.io/sync-options', message: 'Replace' },
          { rule: 'U1', verdict: 'audit', path: 'data', message: 'audited' },
          { rule: 'M1', verdict: 'mutate', path: 'data', message: 'needs the exclusion' },
        ],
      }),
      obj({ source: 'stdin#3', findings: [{ rule: 'R1', verdict: 'break-glass', path: 'spec', message: 'let through' }] }),
    ],
    errors: [
      { source: '/repo/apps/broken.yaml#2', message: 'not valid YAML: bad' },
      { source: '/repo/apps/gone.yaml', message: 'cannot read: ENOENT' },
    ],
  });
  const lines = annotations(report, { root: '/repo', readText: (f) => files[f] });
  t.same(annotationsOf(lines.join('\n')), [
    { level: 'error', file: 'apps/broken.yaml', title: 'cilium-guard: unreadable input', message: 'not valid YAML: bad' },
    { level: 'error', file: 'apps/gone.yaml', title: 'cilium-guard: unreadable input', message: 'cannot read: ENOENT' },
    { level: 'error', file: 'apps/a.yaml', line: 18, title: 'cilium-guard C1', message: '100% "false"\nset it to "true" (ConfigMap kube-system/cilium-config, data.kube-proxy-replacement)' },
    { level: 'warning', file: 'apps/a.yaml', line: 13, title: 'cilium-guard R3.replace', message: 'Replace (ConfigMap kube-system/cilium-config, metadata.annotations.argocd.argoproj.io/sync-options)' },
    { level: 'notice', file: 'apps/a.yaml', line: 14, title: 'cilium-guard U1', message: 'audited (ConfigMap kube-system/cilium-config, data)' },
    { level: 'error', file: 'apps/a.yaml', line: 14, title: 'cilium-guard M1', message: 'needs the exclusion (ConfigMap kube-system/cilium-config, data)' },
    { level: 'warning', title: 'cilium-guard R1', message: 'let through (Application argocd/cilium, spec)' },
  ]);
});

t.test('renderGithub fences the text report with stop-commands', async (t) => {
  // A manifest name that would otherwise be read as a command by the runner.
  const report = summarize('check', { objects: [obj({ source: 'stdin#1', name: 'x\n::add-mask::secret', findings: [{ rule: 'R1', verdict: 'deny', path: 'spec', message: 'no' }], allowed: false })] });
  const out = renderGithub(report, '  ::error::from the text\n::add-mask::secret\n', { token: 'T0K' });
  const cmds = workflowCommands(out);
  t.same(cmds.map((c) => c.command), ['error'], 'only the annotation is a command');
  t.match(out, /^::stop-commands::T0K$/m);
  t.match(out, /^::T0K::$/m);
  const random = render(report, 'github');
  t.match(random, /^::stop-commands::cilium-guard-[0-9a-f]{24}$/m, 'a random token by default');
  t.match(random, /1 object\(s\) checked: 1 denied/, 'the text report follows');
});
