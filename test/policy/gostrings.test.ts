// goTrimSpace against Go itself: the trim oracle (test/oracle/cmd/trim, strings.TrimSpace checked
// against bytes.TrimSpace) answers every question, for a table of every whitespace-like code point,
// for every Unicode code point on its own, and for seeded random strings thick with whitespace at
// both ends. The Cilium agent trims each cilium-config value this way (pkg/option ReadDirConfig).
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import fc from 'fast-check';
import t from 'tap';
import { kubeProxyReplacementViolations } from '../../src/policy/cilium-config.js';
import { defaultConfig } from '../../src/policy/config.js';
import { goIsSpace, goTrimSpace } from '../../src/policy/gostrings.js';
import { oracle } from '../helpers/tools.js';

/** Asks the Go oracle to trim every string, in one process. */
function goTrim(inputs: string[]): string[] {
  const bin = path.join(oracle(), 'trim');
  const res = spawnSync(bin, [], { input: inputs.map((s) => JSON.stringify(s)).join('\n') + '\n', encoding: 'utf8', maxBuffer: 1 << 30 });
  if (res.status !== 0) throw new Error(`trim oracle exited ${res.status}: ${res.stderr}`);
  const lines = res.stdout.split('\n').filter((l) => l !== '');
  if (lines.length !== inputs.length) throw new Error(`trim oracle answered ${lines.length} of ${inputs.length}`);
  return lines.map((l) => JSON.parse(l) as string);
}

const chr = (cp: number): string => String.fromCodePoint(cp);
const hex = (cp: number): string => `U+${cp.toString(16).toUpperCase().padStart(4, '0')}`;

/** Go's unicode.IsSpace, written out: the Latin-1 special case plus the White_Space property. */
const GO_SPACES = [0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x20, 0x85, 0xa0, 0x1680, ...Array.from({ length: 11 }, (_, i) => 0x2000 + i), 0x2028, 0x2029, 0x202f, 0x205f, 0x3000];

/** Look-alikes that Go keeps: JavaScript trims U+FEFF; the rest are invisible or were spaces once. */
const NOT_GO_SPACES = [0x00, 0x08, 0x0e, 0x1c, 0x1d, 0x1e, 0x1f, 0x7f, 0x84, 0x86, 0x9f, 0xad, 0x180e, 0x200b, 0x200c, 0x200d, 0x200e, 0x200f, 0x2060, 0x2061, 0x2800, 0x3164, 0xfeff, 0xfff9, 0xfffc, 0xffa0, 0x1d159, 0xe0020];

const WS_ISH = [...GO_SPACES, ...NOT_GO_SPACES];

t.test('a table of every whitespace-like code point, against Go', async (t) => {
  const inputs = WS_ISH.flatMap((cp) => [chr(cp), `${chr(cp)}x${chr(cp)}`, `${chr(cp)}${chr(cp)}a ${chr(cp)} b${chr(cp)}`]);
  const go = goTrim(inputs);
  WS_ISH.forEach((cp, i) => {
    const space = GO_SPACES.includes(cp);
    t.equal(goIsSpace(cp), space, `${hex(cp)} is ${space ? '' : 'not '}a space to Go`);
    t.equal(goTrimSpace(chr(cp)), space ? '' : chr(cp), `${hex(cp)} alone`);
    t.equal(goTrimSpace(`${chr(cp)}x${chr(cp)}`), space ? 'x' : `${chr(cp)}x${chr(cp)}`, `${hex(cp)} around x`);
    for (let k = 0; k < 3; k++) t.equal(goTrimSpace(inputs[3 * i + k] as string), go[3 * i + k], `${hex(cp)} form ${k} as Go trims it`);
  });
});

t.test('where JavaScript trim() is wrong: it strips U+FEFF and keeps U+0085', async (t) => {
  t.equal('\ufefftrue'.trim(), 'true');
  t.equal(goTrimSpace('\ufefftrue'), '\ufefftrue', 'a byte-order mark stays, so the agent reads something other than "true"');
  t.equal('true\u0085'.trim(), 'true\u0085');
  t.equal(goTrimSpace('true\u0085'), 'true', 'NEL goes, so the agent reads "true"');
  t.same(goTrim(['\ufefftrue', 'true\u0085']), ['\ufefftrue', 'true']);
});

t.test('every Unicode code point on its own and inside text, against Go', async (t) => {
  const cps: number[] = [];
  for (let cp = 0; cp <= 0x10ffff; cp++) if (cp < 0xd800 || cp > 0xdfff) cps.push(cp);
  const inputs = cps.map((cp) => `${chr(cp)}a${chr(cp)}`);
  const go = goTrim(inputs);
  let wrong = 0;
  cps.forEach((cp, i) => {
    if (goTrimSpace(inputs[i] as string) !== go[i] || goIsSpace(cp) !== (go[i] === 'a')) {
      if (wrong++ < 10) t.fail(`${hex(cp)}: Go trims to ${JSON.stringify(go[i])}, goTrimSpace to ${JSON.stringify(goTrimSpace(inputs[i] as string))}`);
    }
  });
  t.equal(wrong, 0, `all ${cps.length} code points agree with Go`);
});

t.test('seeded random strings with whitespace at both ends, against Go', async (t) => {
  const edge = fc.array(
    fc.oneof({ weight: 6, arbitrary: fc.constantFrom(...WS_ISH) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 0x10ffff }).filter((c) => c < 0xd800 || c > 0xdfff) }),
    { maxLength: 6 },
  );
  const middle = fc.oneof(
    fc.constantFrom('', 'true', 'false', 'a b', ' ', '\u0085', '\ufeff'),
    fc.string({ unit: 'binary', maxLength: 8 }),
    fc.array(fc.constantFrom(...WS_ISH), { maxLength: 4 }).map((a) => String.fromCodePoint(...a)),
  );
  const text = fc.tuple(edge, middle, edge).map(([a, m, b]) => String.fromCodePoint(...a) + m + String.fromCodePoint(...b));
  const inputs = fc.sample(text, { seed: 20240611, numRuns: 6000 });
  const go = goTrim(inputs);
  let wrong = 0;
  inputs.forEach((s, i) => {
    if (goTrimSpace(s) !== go[i] && wrong++ < 10) t.fail(`${JSON.stringify(s)}: Go ${JSON.stringify(go[i])}, goTrimSpace ${JSON.stringify(goTrimSpace(s))}`);
  });
  t.equal(wrong, 0, `${inputs.length} strings trimmed as Go trims them`);
  t.ok(inputs.filter((s) => s !== goTrimSpace(s)).length > inputs.length / 2, 'most strings had something to trim');
  t.ok(inputs.some((s, i) => s.trim() !== go[i]), 'and the sample does catch JavaScript trim()');
});

t.test('C1 reads kube-proxy-replacement as the agent trims it', async (t) => {
  const config = defaultConfig();
  const cm = (v: string): Record<string, unknown> => ({ metadata: { name: 'cilium-config', namespace: 'kube-system' }, data: { 'kube-proxy-replacement': v } });
  t.same(kubeProxyReplacementViolations(cm('true\n'), config), [], 'a block scalar\'s newline is trimmed');
  t.same(kubeProxyReplacementViolations(cm('\u0085true\u00a0\u3000'), config), [], 'NEL, NBSP and the ideographic space are trimmed too');
  t.match(kubeProxyReplacementViolations(cm('\ufefftrue'), config), [{ rule: 'C1', path: 'data.kube-proxy-replacement' }], 'a byte-order mark is not trimmed: the agent reads "\\ufefftrue", not "true"');
  t.match(kubeProxyReplacementViolations(cm('true\u200b'), config), [{ rule: 'C1' }], 'a zero-width space is not trimmed');
  const binary = { metadata: { name: 'cilium-config', namespace: 'kube-system' }, data: { 'kube-proxy-replacement': 'true' }, binaryData: { 'Kube-Proxy-Replacement': Buffer.from('\ufefftrue').toString('base64') } };
  t.match(kubeProxyReplacementViolations(binary, config), [{ rule: 'C1', path: 'binaryData.Kube-Proxy-Replacement' }], 'binaryData case variants too');
});
