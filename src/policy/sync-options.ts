// Argo CD's sync options are matched exactly: SyncOptions.HasOption is slices.Contains, so
// "serverSideApply=true", "ServerSideApply=True" and " ServerSideApply=true" all mean SSA off.
import type { PolicyConfig } from './config.js';
import type { Violation } from './types.js';

function squash(s: string): string {
  return s.replace(/\s+/g, '').toLowerCase();
}

export function checkSyncOptions(options: unknown, path: string, config: PolicyConfig): Violation[] {
  const list = Array.isArray(options) ? options.filter((o): o is string => typeof o === 'string') : [];
  const { required, forbidden } = config.syncOptions;
  const violations: Violation[] = [];
  if (!list.includes(required)) {
    const nearMiss = list.find((o) => squash(o) === squash(required) || squash(o).startsWith(squash(required.split('=')[0] ?? '')));
    violations.push({
      rule: 'R3',
      path,
      value: nearMiss ?? list,
      certain: true,
      message:
        nearMiss !== undefined
          ? `${path} has ${JSON.stringify(nearMiss)}, which Argo CD does not recognise (options are matched exactly, case-sensitive, without spaces); write ${JSON.stringify(required)}`
          : `${path} must contain ${JSON.stringify(required)}: without server-side apply Talos' security-context schema breaks the sync`,
    });
  }
  list.forEach((o, i) => {
    if (forbidden.includes(o)) {
      violations.push({
        rule: 'R3.replace',
        path: `${path}[${i}]`,
        value: o,
        certain: true,
        message: `${path}[${i}] is ${JSON.stringify(o)}, which takes precedence over ${required} and replaces Cilium's objects on every sync; remove it`,
      });
    }
  });
  return violations;
}
