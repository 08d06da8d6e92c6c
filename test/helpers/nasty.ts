// Values that have broken parsers elsewhere (wrong types, YAML traps, control characters), and the
// paths of a JSON tree, for the tests that put them anywhere in a review: the seeded robustness
// test and the fast-check fuzzers.

export const NASTY: unknown[] = [
  null, 0, -1, 1e308, true, false, '', '{{', '{{ .x }}', 'x'.repeat(4096), [], {}, [[[]]], { a: { b: null } },
  'true', 'off', 'True', '  true\n', '$ARGOCD_APP_REVISION', '\u0000\u001f', 'ServerSideApply=true', [null], [1, 'a', {}],
  '- apiGroups: [cilium.io', 'a: &a [1]\nb: *a', '[[[[[[[[', { __proto__: { polluted: true } },
];

/** More of them: signed zero, YAML 1.1 booleans, lone surrogates, a BOM, names the rules look for. */
export const NASTIER: unknown[] = [
  ...NASTY,
  -0, 'yes', '\u0000\u001f\u007f', '\ud800', 'x'.repeat(5000), '__proto__', { constructor: { prototype: {} } },
  'kube-system', 'cilium', 'kubeProxyReplacement: false', '\uFEFFkubeProxyReplacement: "false"',
];

export type Path = Array<string | number>;

/** Every path in a JSON tree, the root ([]) first. */
export function paths(node: unknown, prefix: Path = [], out: Path[] = []): Path[] {
  out.push(prefix);
  if (Array.isArray(node)) node.forEach((v, i) => paths(v, [...prefix, i], out));
  else if (node && typeof node === 'object') for (const [k, v] of Object.entries(node)) paths(v, [...prefix, k], out);
  return out;
}
