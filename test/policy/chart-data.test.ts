// The chart facts the policy keeps as data agree with what the real chart renders today.
import path from 'node:path';
import t from 'tap';
import { CHART_DEFAULTS, CHART_DEFAULT_PATHS, OBJECT_ANNOTATION_VALUES } from '../../src/policy/data/cilium-chart.js';
import { SHARED } from '../helpers/corpus.js';
import { chartDefaultsAt, objectAnnotationPaths } from '../helpers/cilium-chart-probe.js';

for (const version of ['1.18.1', '1.18.2']) {
  t.test(`the values that annotate Cilium ${version}'s objects are the ones the policy checks`, async (t) => {
    const found = await objectAnnotationPaths(path.join(SHARED, 'upstream', 'cilium', `cilium-${version}.tgz`));
    t.ok(found.length > 10, `found ${found.length} annotation values`);
    t.same(found, [...OBJECT_ANNOTATION_VALUES]);
    t.notOk(found.includes('podAnnotations'), 'pod template annotations are never applied by Argo CD');
  });
}

for (const version of ['1.18.1', '1.18.2']) {
  t.test(`the chart defaults the Talos rules ship are Cilium ${version}'s values.yaml`, async (t) => {
    const found = await chartDefaultsAt(path.join(SHARED, 'upstream', 'cilium', `cilium-${version}.tgz`), CHART_DEFAULT_PATHS);
    t.strictSame(found, JSON.parse(JSON.stringify(CHART_DEFAULTS)));
  });
}
