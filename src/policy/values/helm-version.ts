// Which Helm renders the chart depends on the user's Argo CD (hack/tool-versions.sh of each release):
// Argo CD 3.4 bundles Helm 3.19.4, 3.5 bundles 4.2.1, 3.6 bundles 4.3.1. The semantics that differ between
// them (how a values file with several YAML documents is read, how nulls coalesce) take this as a parameter.
export const HELM_VERSIONS = ['3.19', '4.2', '4.3'] as const;
export type HelmVersion = (typeof HELM_VERSIONS)[number];

/** What current Argo CD (3.6) ships. */
export const DEFAULT_HELM_VERSION: HelmVersion = '4.3';

/** Helm 4.2+ reads every YAML document of a values file and merges them (loader.LoadValues). */
export const readsAllDocuments = (v: HelmVersion): boolean => v !== '3.19';
