// The metric names the chart's Grafana dashboard and PrometheusRule query, so tests can check each
// one against what really exports it: cilium-guard's registry, or a live kube-apiserver.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { CHART } from './tools.js';
import { find, render } from './chart.js';

const METRIC = /\b((?:cilium_guard|apiserver|kube)_[a-z0-9_]+)\b/g;

export const DASHBOARD_FILE = path.join(CHART, 'dashboards/cilium-guard.json');

export function dashboardExpressions(): string[] {
  const dashboard = JSON.parse(readFileSync(DASHBOARD_FILE, 'utf8')) as { panels: Array<{ targets?: Array<{ expr: string }> }>; templating: { list: Array<{ definition?: string }> } };
  return [
    ...dashboard.panels.flatMap((p) => (p.targets ?? []).map((x) => x.expr)),
    ...dashboard.templating.list.flatMap((v) => (v.definition ? [v.definition] : [])),
  ];
}

export async function alertExpressions(): Promise<string[]> {
  const r = await render({ set: { 'metrics.prometheusRule.enabled': true } });
  return (find(r, 'PrometheusRule').spec.groups as Array<{ rules: Array<{ expr: string }> }>).flatMap((g) => g.rules.map((x) => x.expr));
}

/** Metric names in PromQL expressions (label values in quotes are not names). */
export function metricNames(expressions: string[]): Set<string> {
  return new Set(expressions.flatMap((e) => [...e.replace(/"(?:[^"\\]|\\.)*"/g, '""').matchAll(METRIC)].map((m) => m[1] as string)));
}

/** A histogram is queried as NAME_bucket; its family is NAME. */
export function family(name: string): string {
  return name.replace(/_(bucket|sum|count)$/, '');
}
