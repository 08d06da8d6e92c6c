// The PolicyRequest an Argo CD Application write makes (CREATE, or UPDATE with an old object), for
// tests that call the engine directly.
import type { JsonObject, PolicyRequest } from '../../src/policy/types.js';

export function applicationRequest(object: JsonObject, oldObject: JsonObject | null = null, name = 'cilium'): PolicyRequest {
  return {
    operation: oldObject ? 'UPDATE' : 'CREATE',
    kind: { group: 'argoproj.io', version: 'v1alpha1', kind: 'Application' },
    namespace: 'argocd',
    name,
    object,
    oldObject,
    userInfo: { username: 'alice' },
    dryRun: false,
  };
}
