// prom-client's default-metric collectors (lib/metrics/*.js), which the package ships without types.
declare module 'prom-client/lib/metrics/*.js' {
  const collect: (registry: import('prom-client').Registry, config: object) => void;
  export default collect;
}
