// `cilium-guard align --live --app APP.yaml` (or `--cluster FILE` for the same view from a file):
// what runs (the live cilium-config and the cilium-agent's version) beside what the Argo CD
// Application would make of it, setting by setting, and the webhook's answer to that Application
// against what runs. Argo CD's first sync must change nothing L1 guards; any difference exits 1.
import { parseVersion, type ClusterView } from '../policy/cluster-view.js';
import type { PolicyConfig } from '../policy/config.js';
import { str } from '../policy/json.js';
import { LIVE_SETTINGS, SINCE, changed, liveConfig, runningConfig, show, type LiveValue } from '../policy/live.js';
import type { JsonObject } from '../policy/types.js';
import { findCiliumSource } from './align.js';
import { checkObject, describeView } from './check.js';
import { summarize, type AlignmentRow, type Report } from './report.js';
import type { YamlDocument } from './yaml-input.js';

export interface LiveAlignInputs {
  app: { file: string; documents: YamlDocument[] };
  appValues?: JsonObject[];
  view: ClusterView;
  /** Where the view came from: `cluster/<context>` or a file name. */
  viewFrom: string;
}

const cell = (v: LiveValue | undefined): unknown => (v?.state === 'known' ? (v.value ?? undefined) : v?.state === 'ambiguous' ? v.values : undefined);

/** The version row: the running agent against the chart version the Application installs. */
function versionRow(view: ClusterView, revision: string): AlignmentRow {
  const running = view.agent?.version;
  const row: AlignmentRow = { key: '(chart version)', ...(running ? { talos: running } : {}), ...(revision ? { argocd: revision } : {}), status: 'aligned' };
  const a = running ? parseVersion(running) : null;
  const b = parseVersion(revision);
  if (!running) row.note = view.agent ? `the running image ${view.agent.image} names no version` : 'no cilium-agent runs';
  else if (!b) {
    row.status = 'differs';
    row.note = `${revision ? `"${revision}" is` : 'an empty targetRevision is'} not an exact version: pin ${a?.major}.${a?.minor}.x or ${a?.major}.${(a?.minor ?? 0) + 1}.x (U1)`;
  } else if (a && (a.major !== b.major || Math.abs(a.minor - b.minor) > 1)) {
    row.status = 'differs';
    row.note = 'more than one minor release apart: Cilium upgrades one minor at a time (U1 denies)';
  } else if (running.replace(/^v/, '') !== revision.replace(/^v/, '')) {
    row.note = `Argo CD's first sync ${a && b.minor !== a.minor ? 'upgrades to the next minor' : 'changes the patch release'} (allowed)`;
  }
  return row;
}

export function alignLive(inputs: LiveAlignInputs, config: PolicyConfig): Report {
  const found = findCiliumSource(inputs.app.documents, inputs.app.file, config, inputs.appValues);
  const sources = [inputs.viewFrom, inputs.app.file];
  if (!found.ok) return summarize('align', { inputs: sources, errors: [{ source: inputs.app.file, message: found.error }] });
  const { ev, src, doc, valueFiles } = found.found;
  if (ev.error) return summarize('align', { inputs: sources, errors: [{ source: doc.source, message: ev.error.message }] });
  const notes = [describeView(inputs.view, inputs.viewFrom), `Argo CD: ${found.found.origin}`, ...found.found.notes];
  if (!inputs.view.ciliumConfig) notes.push('no running cilium-config: nothing runs yet, so nothing can be changed by the first sync');
  if (valueFiles.length > 0 && (inputs.appValues ?? []).length === 0) {
    notes.push(`${src.path}.helm.valueFiles (${valueFiles.join(', ')}) were not given (--app-values FILE, in the same order): what they set cannot be compared`);
  }

  const rows: AlignmentRow[] = [versionRow(inputs.view, str(src.source.targetRevision).trim())];
  if (inputs.view.ciliumConfig) {
    const running = runningConfig(inputs.view.ciliumConfig.data);
    // Where the parameters' Go-map order matters, a setting that differs between orders is unknown.
    const views = ev.alternatives().filter((v) => v.error === null).map(liveConfig);
    for (const s of LIVE_SETTINGS) {
      const was = running.get(s.key);
      const outcomes = views.map((m) => m.get(s.key));
      const next = outcomes.every((o) => JSON.stringify(o) === JSON.stringify(outcomes[0])) ? outcomes[0] : { state: 'unknown' as const, path: s.values, why: 'it depends on the order Argo CD passes parameters in' };
      const row: AlignmentRow = { key: `${s.key} (${s.values})`, status: 'aligned' };
      const left = cell(was);
      const right = cell(next);
      if (left !== undefined) row.talos = left;
      if (right !== undefined) row.argocd = right;
      if (!next || next.state === 'refused') {
        row.status = 'differs';
        row.note = 'extraConfig holds a value that is not a string: the API server refuses cilium-config';
      } else if (next.state === 'unknown') {
        row.status = 'differs';
        row.note = `cannot be known: ${next.why}`;
      } else if (was?.state === 'ambiguous') {
        row.status = 'differs';
        row.note = 'the running cilium-config holds several spellings of this option';
      } else {
        const before = was?.state === 'known' ? was.value : null;
        const candidates = next.state === 'ambiguous' ? next.values : [next.value];
        const how = candidates.map((c) => changed(s, before, c)).find((x) => x !== null);
        if (how) {
          row.status = 'differs';
          const what = how === 'changes it' ? '' : `${how}: `;
          row.note = s.strength === 'deny' ? `${what}${SINCE[s.key] ?? 'Cilium cannot change it on a running cluster'} (L1 denies)` : 'pod traffic between nodes changes path while the agents roll (L1 warns)';
        } else if (s.onlyWhenBoth && (before === null) !== (next.state === 'known' && next.value === null)) {
          row.note = 'written only in cluster-pool IPAM; compared when both sides use it';
        } else if (before === null && next.state === 'known' && next.value === null) {
          row.note = s.absent === '' ? 'not in cilium-config on either side' : `not in cilium-config on either side: the agent uses ${JSON.stringify(s.absent)}`;
        } else if (before === null || (next.state === 'known' && next.value === null)) {
          row.note = `${show(s, before)} / ${next.state === 'known' ? show(s, next.value) : ''}: the same to the agent`;
        }
      }
      rows.push(row);
    }
  }
  // What the webhook answers for this Application against what runs (L1, U1, T1, T2 and the rest).
  const app = doc.value as JsonObject;
  const judged = checkObject(app, doc.source, config, inputs.view);
  const objects = typeof judged === 'string' ? [] : [judged];
  if (typeof judged === 'string') notes.push(`not judged by the policy: ${judged}`);
  return summarize('align', { inputs: sources, alignment: rows, sides: { left: 'Running', right: 'Argo CD' }, objects, notes });
}
