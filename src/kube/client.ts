// The parts of @kubernetes/client-node that cilium-guard uses, by name. Every module imports the
// client through here (types excepted), so the bundle the image ships (scripts/bundle.mjs) keeps
// these and what they need instead of the whole package: its index pulls in every API group and
// model, about 20 MB of JavaScript, which cost about 390 ms and 50 MB of RSS at start-up.
export { AdmissionregistrationV1Api, AppsV1Api, CoreV1Api, CustomObjectsApi, EventsV1Api, KubeConfig, Observable, Watch } from '@kubernetes/client-node';

/** This module's namespace, for functions handed the client by their caller. */
export type KubeClient = typeof import('./client.js');
