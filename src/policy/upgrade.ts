// U1: the Cilium chart version an Application installs, against what runs. Cilium's upgrade guide
// (Documentation/operations/upgrade.rst): "The only tested upgrade and rollback path is between
// consecutive minor releases. Always perform upgrades and rollbacks between one minor release at a
// time." So 1.16 -> 1.18 (or 1.18 -> 1.16) is refused; the next minor, the previous one, and any
// patch are allowed.
//
// What runs is known from two places: the old Application on UPDATE (what Argo CD was told to
// install), and the cluster view's agent image (what is installed), which counts only when the
// Application deploys to this cluster. Without either there is nothing to compare with.
import { type ClusterView, parseVersion } from './cluster-view.js';
import type { PolicyConfig } from './config.js';
import { deploysHere, obj, operationSources, specSources, str, type RenderSource } from './identify.js';
import type { JsonObject, Violation } from './types.js';

interface Target {
  path: string;
  revision: string;
}

interface Reference {
  version: { major: number; minor: number; patch: number };
  text: string;
  /** For messages and the ratchet: what the version was read from. */
  what: 'running' | 'previous';
  describe: string;
}

/** Sources that render the Cilium chart and that Argo CD applies (as application.ts guards them). */
function ciliumSources(sources: RenderSource[]): RenderSource[] {
  return sources.filter((s) => s.cilium && !s.ignored);
}

/**
 * The chart versions the Application asks for: each Cilium source's targetRevision, and for a
 * pending sync its own sources, where `operation.sync.revision(s)` take precedence as in Argo CD's
 * sync (controller/appcontroller.go: syncOp.Revision, else the source's targetRevision).
 */
export function targetRevisions(app: JsonObject, config: PolicyConfig): Target[] {
  const out: Target[] = [];
  for (const s of ciliumSources(specSources(obj(app.spec), config))) {
    out.push({ path: `${s.path}.targetRevision`, revision: str(s.source.targetRevision).trim() });
  }
  const sync = obj(obj(app.operation).sync);
  if (Object.keys(sync).length > 0) {
    const revisions = Array.isArray(sync.revisions) ? sync.revisions : [];
    for (const s of ciliumSources(operationSources(app, config))) {
      const index = /\[(\d+)\]$/.exec(s.path);
      const override = index ? str(revisions[Number(index[1])]).trim() : str(sync.revision).trim();
      if (override) out.push({ path: index ? `operation.sync.revisions[${index[1]}]` : 'operation.sync.revision', revision: override });
      else out.push({ path: `${s.path}.targetRevision`, revision: str(s.source.targetRevision).trim() });
    }
  }
  return out;
}

function references(app: JsonObject, oldApp: JsonObject | null, config: PolicyConfig, cluster: ClusterView | undefined): Reference[] {
  const out: Reference[] = [];
  const running = cluster?.agent?.version;
  const parsedRunning = running ? parseVersion(running) : null;
  if (running && parsedRunning && deploysHere(app, config)) {
    out.push({ version: parsedRunning, text: running, what: 'running', describe: `the running cilium-agent (${cluster!.agent!.image})` });
  }
  if (oldApp) {
    for (const t of targetRevisions({ ...oldApp, operation: undefined }, config)) {
      const v = parseVersion(t.revision);
      if (v && !out.some((r) => r.text === t.revision.replace(/^v/, ''))) {
        out.push({ version: v, text: t.revision.replace(/^v/, ''), what: 'previous', describe: `the previous ${t.path} (${t.revision})` });
      }
    }
  }
  return out;
}

function minorsApart(a: Reference['version'], b: Reference['version']): number {
  return a.major === b.major ? Math.abs(a.minor - b.minor) : Number.POSITIVE_INFINITY;
}

/** U1 on one Application identified as Cilium; `oldApp` on UPDATE. */
export function upgradeViolations(app: JsonObject, oldApp: JsonObject | null, config: PolicyConfig, cluster?: ClusterView): Violation[] {
  const refs = references(app, oldApp, config, cluster);
  if (refs.length === 0) return [];
  const out: Violation[] = [];
  for (const target of targetRevisions(app, config)) {
    const wanted = parseVersion(target.revision);
    if (!wanted) {
      const ref = refs[0]!;
      out.push({
        rule: 'U1',
        path: target.path,
        subject: `chart version vs ${ref.what}`,
        value: target.revision,
        certain: false,
        message: `${target.path} is ${target.revision === '' ? 'empty (the newest chart)' : `"${target.revision}"`}, not an exact chart version, so cilium-guard cannot tell whether it moves Cilium more than one minor version from ${ref.text} (${ref.describe}); Cilium upgrades one minor at a time: pin an exact version, ${ref.version.major}.${ref.version.minor}.x or ${ref.version.major}.${ref.version.minor + 1}.x`,
      });
      continue;
    }
    for (const ref of refs) {
      const apart = minorsApart(wanted, ref.version);
      if (apart < 2) continue;
      const up = wanted.major > ref.version.major || (wanted.major === ref.version.major && wanted.minor > ref.version.minor);
      const step = Number.isFinite(apart) ? `the latest ${ref.version.major}.${ref.version.minor + (up ? 1 : -1)}.x first` : 'one minor release at a time';
      out.push({
        rule: 'U1',
        path: target.path,
        subject: `chart version vs ${ref.what}`,
        value: target.revision,
        certain: true,
        message: `${target.path} is ${target.revision}, ${up ? 'an upgrade' : 'a downgrade'} of ${Number.isFinite(apart) ? `${apart} minor versions` : 'a major version'} from ${ref.text} (${ref.describe}); Cilium supports upgrades and rollbacks only between consecutive minor releases: go to ${step}`,
      });
    }
  }
  return out;
}
