import t from 'tap';
import { parseYaml11 } from '../../src/policy/yaml11.js';

const limits = { bytes: 1 << 20, aliases: 100, depth: 64 };

t.test('YAML 1.1 booleans are exactly go-yaml v2 resolve table', async (t) => {
  const truthy = ['y', 'Y', 'yes', 'Yes', 'YES', 'true', 'True', 'TRUE', 'on', 'On', 'ON'];
  const falsy = ['n', 'N', 'no', 'No', 'NO', 'false', 'False', 'FALSE', 'off', 'Off', 'OFF'];
  for (const w of truthy) t.same(parseYaml11(`k: ${w}`, limits), { ok: true, value: { k: true } }, w);
  for (const w of falsy) t.same(parseYaml11(`k: ${w}`, limits), { ok: true, value: { k: false } }, w);
  for (const w of ['tRue', 'yES', 'oN', '"off"', "'yes'"]) {
    const r = parseYaml11(`k: ${w}`, limits);
    t.ok(r.ok && typeof (r.value as { k: unknown }).k === 'string', `${w} stays a string`);
  }
});

t.test('duplicate keys: the last one wins; merge keys work', async (t) => {
  t.same(parseYaml11('a: 1\na: 2', limits), { ok: true, value: { a: 2 } });
  t.same(parseYaml11('base: &b {x: 1}\nc:\n  <<: *b\n  z: 2', limits), { ok: true, value: { base: { x: 1 }, c: { x: 1, z: 2 } } });
  t.same(parseYaml11('y: 1', limits), { ok: true, value: { true: 1 } }, 'y as a key is a boolean too, as in go-yaml v2');
});

t.test('hostile YAML is refused with a reason, quickly', async (t) => {
  const bomb = 'a: &a [x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: [*c,*c,*c,*c,*c,*c,*c,*c,*c]';
  const started = process.hrtime.bigint();
  t.match(parseYaml11(bomb, limits), { ok: false, error: /alias/ });
  t.match(parseYaml11('['.repeat(100000) + ']'.repeat(100000), limits), { ok: false, error: /deeper than 64/ });
  t.match(parseYaml11('x: ' + 'y'.repeat(2 << 20), limits), { ok: false, error: /bytes/ });
  t.match(parseYaml11('a: [1, 2\nb: 3', limits), { ok: false, error: /not valid YAML/ });
  t.ok(Number(process.hrtime.bigint() - started) / 1e9 < 5, 'bounded in time');
});

