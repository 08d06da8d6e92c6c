// src/policy/values/strvals.ts, the port of Helm's pkg/strvals (the --set parser), checked four ways:
// (1) Helm's own table tests (pkg/strvals/parser_test.go and literal_parser_test.go of v4.3.1; v3.19.4's
// tables hold the same cases), with upstream's expected values; (2) a seeded differential test against
// the Go code itself (test/oracle/cmd/strvals, helm.sh/helm/v3@v3.19.4 and helm.sh/helm/v4@v4.3.1) on
// random sequences of arguments thick with the hard parts, plus hand-picked hard cases; (3) every
// argument of up to 4 runes over small hard alphabets, against the same oracle; (4) hostile inputs that
// must neither hang nor blow the stack.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';
import fc from 'fast-check';
import t, { type Test } from 'tap';
import type { HelmVersion } from '../../src/policy/values/helm-version.js';
import {
  MAX_LIST_CELLS,
  MaxNestedNameLevel,
  StrvalsError,
  parse,
  parseFile,
  parseInto,
  parseIntoFile,
  parseIntoString,
  parseJSON,
  parseLiteral,
  parseLiteralInto,
  parseString,
  typedVal,
  type GoMap,
} from '../../src/policy/values/strvals.js';
import { oracle } from '../helpers/tools.js';

const V: HelmVersion = '4.3';
const VERSIONS: readonly HelmVersion[] = ['3.19', '4.2', '4.3'];

/** Deep equality of JSON-like values without recursion (values can be deeper than the stack). */
function deepEqual(a: unknown, b: unknown): boolean {
  const work: [unknown, unknown][] = [[a, b]];
  while (work.length > 0) {
    const [x, y] = work.pop()!;
    if (x === y) continue;
    if (typeof x !== 'object' || typeof y !== 'object' || x === null || y === null) return false;
    if (Array.isArray(x) !== Array.isArray(y)) return false;
    if (Array.isArray(x)) {
      const ya = y as unknown[];
      if (x.length !== ya.length) return false;
      for (let i = 0; i < x.length; i++) work.push([x[i], ya[i]]);
      continue;
    }
    const xo = x as Record<string, unknown>;
    const yo = y as Record<string, unknown>;
    const xk = Object.keys(xo);
    if (xk.length !== Object.keys(yo).length) return false;
    for (const k of xk) {
      if (!Object.prototype.hasOwnProperty.call(yo, k)) return false;
      work.push([xo[k], yo[k]]);
    }
  }
  return true;
}

/** JSON, with everything outside printable ASCII escaped (a raw U+2028 would break a TAP line). */
const show = (v: unknown): string =>
  (JSON.stringify(v) ?? String(v)).replace(/[^\x20-\x7e]/g, (c) => '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0'));

/** Runs `f`, returning the error message of a StrvalsError (anything else is a bug and rethrown). */
function attempt(f: () => void): string | null {
  try {
    f();
    return null;
  } catch (e) {
    if (e instanceof StrvalsError) return e.message;
    throw e;
  }
}

// ---------------------------------------------------------------------------------------------------
// (1) Upstream tables.

interface Case {
  str: string;
  expect?: unknown;
  err?: boolean;
  errStr?: string;
}

function checkTable(t: Test, cases: Case[], run: (s: string) => GoMap): void {
  for (const c of cases) {
    let got: GoMap | undefined;
    const err = attempt(() => {
      got = run(c.str);
    });
    if (c.err) {
      t.not(err, null, `${c.str}: an error`);
      if (c.errStr !== undefined) t.equal(err, c.errStr, `${c.str}: the error`);
    } else {
      t.equal(err, null, `${c.str}: no error`);
      t.ok(deepEqual(got, c.expect), `${c.str}: ${show(got)} is ${show(c.expect)}`);
    }
  }
}

// nestedKey: name1.name2. ... .name32 (MaxNestedNameLevel + 2 names), as TestParseSetNestedLevels builds it.
const nestedKey = Array.from({ length: MaxNestedNameLevel + 2 }, (_, i) => `name${i + 1}` + (i + 1 <= MaxNestedNameLevel + 1 ? '.' : '')).join('');
const NESTED_ERR = `value name nested level is greater than maximum supported nested level of ${MaxNestedNameLevel}`;

t.test('parser_test.go TestSetIndex (through ParseInto on a list)', async (t) => {
  const tests = [
    { name: 'short', initial: [0, 1], expect: [0, 1, 2], add: 2, val: 2, err: false },
    { name: 'equal', initial: [0, 1], expect: [0, 2], add: 1, val: 2, err: false },
    { name: 'long', initial: [0, 1, 2, 3, 4, 5], expect: [0, 1, 2, 4, 4, 5], add: 3, val: 4, err: false },
    { name: 'negative', initial: [0, 1, 2, 3, 4, 5], expect: [0, 1, 2, 3, 4, 5], add: -1, val: 4, err: true },
    { name: 'large', initial: [0, 1, 2, 3, 4, 5], expect: [0, 1, 2, 3, 4, 5], add: 65536 + 1, val: 4, err: true },
  ];
  for (const tt of tests) {
    const dest: GoMap = { l: [...tt.initial] };
    const err = attempt(() => parseInto(`l[${tt.add}]=${tt.val}`, dest, V));
    t.equal(err !== null, tt.err, `${tt.name}: error`);
    t.same(dest.l, tt.expect, `${tt.name}: list`);
  }
});

t.test('parser_test.go TestParseSet', async (t) => {
  const testsString: Case[] = [
    { str: 'long_int_string=1234567890', expect: { long_int_string: '1234567890' } },
    { str: 'boolean=true', expect: { boolean: 'true' } },
    { str: 'is_null=null', expect: { is_null: 'null' } },
    { str: 'zero=0', expect: { zero: '0' } },
  ];
  const tests: Case[] = [
    { str: 'name1=null,f=false,t=true', expect: { name1: null, f: false, t: true } },
    { str: 'name1=value1', expect: { name1: 'value1' } },
    { str: 'name1=value1,name2=value2', expect: { name1: 'value1', name2: 'value2' } },
    { str: 'name1=value1,name2=value2,', expect: { name1: 'value1', name2: 'value2' } },
    { str: 'name1=value1,,,,name2=value2,', err: true },
    { str: 'name1=,name2=value2', expect: { name1: '', name2: 'value2' } },
    { str: 'leading_zeros=00009', expect: { leading_zeros: '00009' } },
    { str: 'zero_int=0', expect: { zero_int: 0 } },
    { str: 'long_int=1234567890', expect: { long_int: 1234567890 } },
    { str: 'boolean=true', expect: { boolean: true } },
    { str: 'is_null=null', expect: { is_null: null } },
    { str: 'name1,name2=', err: true },
    { str: 'name1,name2=value2', err: true },
    { str: 'name1,name2=value2\\', err: true },
    { str: 'name1,name2', err: true },
    { str: 'name1=one\\,two,name2=three\\,four', expect: { name1: 'one,two', name2: 'three,four' } },
    { str: 'name1=one\\=two,name2=three\\=four', expect: { name1: 'one=two', name2: 'three=four' } },
    { str: 'name1=one two three,name2=three two one', expect: { name1: 'one two three', name2: 'three two one' } },
    { str: 'outer.inner=value', expect: { outer: { inner: 'value' } } },
    { str: 'outer.middle.inner=value', expect: { outer: { middle: { inner: 'value' } } } },
    { str: 'outer.inner1=value,outer.inner2=value2', expect: { outer: { inner1: 'value', inner2: 'value2' } } },
    { str: 'outer.inner1=value,outer.middle.inner=value', expect: { outer: { inner1: 'value', middle: { inner: 'value' } } } },
    { str: 'name1.name2', err: true },
    { str: 'name1.name2,name1.name3', err: true },
    { str: 'name1.name2=', expect: { name1: { name2: '' } } },
    { str: 'name1.=name2', err: true },
    { str: 'name1.,name2', err: true },
    { str: 'name1={value1,value2}', expect: { name1: ['value1', 'value2'] } },
    { str: 'name1={value1,value2},name2={value1,value2}', expect: { name1: ['value1', 'value2'], name2: ['value1', 'value2'] } },
    { str: 'name1={1021,902}', expect: { name1: [1021, 902] } },
    { str: 'name1.name2={value1,value2}', expect: { name1: { name2: ['value1', 'value2'] } } },
    { str: 'name1={1021,902', err: true },
    // List support
    { str: 'list[0]=foo', expect: { list: ['foo'] } },
    { str: 'list[0].foo=bar', expect: { list: [{ foo: 'bar' }] } },
    { str: 'list[0].foo=bar,list[0].hello=world', expect: { list: [{ foo: 'bar', hello: 'world' }] } },
    { str: 'list[0].foo=bar,list[-30].hello=world', err: true },
    { str: 'list[0]=foo,list[1]=bar', expect: { list: ['foo', 'bar'] } },
    { str: 'list[0]=foo,list[1]=bar,', expect: { list: ['foo', 'bar'] } },
    { str: 'list[0]=foo,list[3]=bar', expect: { list: ['foo', null, null, 'bar'] } },
    { str: 'list[0]=foo,list[-20]=bar', err: true },
    { str: 'illegal[0]name.foo=bar', err: true },
    { str: 'noval[0]', expect: { noval: [] } },
    { str: 'noval[0]=', expect: { noval: [''] } },
    { str: 'nested[0][0]=1', expect: { nested: [[1]] } },
    { str: 'nested[1][1]=1', expect: { nested: [null, [null, 1]] } },
    { str: 'name1.name2[0].foo=bar,name1.name2[1].foo=bar', expect: { name1: { name2: [{ foo: 'bar' }, { foo: 'bar' }] } } },
    { str: 'name1.name2[1].foo=bar,name1.name2[0].foo=bar', expect: { name1: { name2: [{ foo: 'bar' }, { foo: 'bar' }] } } },
    { str: 'name1.name2[1].foo=bar', expect: { name1: { name2: [null, { foo: 'bar' }] } } },
    { str: ']={}].', err: true },
  ];
  for (const v of VERSIONS) {
    t.test(`Parse, Helm ${v}`, async (t) => checkTable(t, tests, (s) => parse(s, v)));
    t.test(`ParseString, Helm ${v}`, async (t) => checkTable(t, testsString, (s) => parseString(s, v)));
  }
});

t.test('parser_test.go TestParseInto', async (t) => {
  const tests = [
    {
      input: 'outer.inner1=value1,outer.inner3=value3,outer.inner4=4',
      input2: '',
      got: { outer: { inner1: 'overwrite', inner2: 'value2' } },
      expect: { outer: { inner1: 'value1', inner2: 'value2', inner3: 'value3', inner4: 4 } },
    },
    {
      input: 'listOuter[0][0].type=listValue',
      input2: 'listOuter[0][0].status=alive',
      got: {},
      expect: { listOuter: [[{ type: 'listValue', status: 'alive' }]] },
    },
    {
      input: 'listOuter[0][0].type=listValue',
      input2: 'listOuter[1][0].status=alive',
      got: {},
      expect: { listOuter: [[{ type: 'listValue' }], [{ status: 'alive' }]] },
    },
    {
      input: 'listOuter[0][1][0].type=listValue',
      input2: 'listOuter[0][0][1].status=alive',
      got: { listOuter: [[[{ exited: 'old' }]]] },
      expect: { listOuter: [[[{ exited: 'old' }, { status: 'alive' }], [{ type: 'listValue' }]]] },
    },
  ];
  for (const v of VERSIONS) {
    for (const tt of structuredClone(tests)) {
      const got = tt.got as GoMap;
      t.equal(attempt(() => parseInto(tt.input, got, v)), null, `${v} ${tt.input}`);
      if (tt.input2 !== '') t.equal(attempt(() => parseInto(tt.input2, got, v)), null, `${v} ${tt.input2}`);
      t.ok(deepEqual(got, tt.expect), `${v} ${tt.input}: ${show(got)}`);
    }
  }
});

t.test('parser_test.go TestParseIntoString', async (t) => {
  const got: GoMap = { outer: { inner1: 'overwrite', inner2: 'value2' } };
  parseIntoString('outer.inner1=1,outer.inner3=3', got, V);
  t.ok(deepEqual(got, { outer: { inner1: '1', inner2: 'value2', inner3: '3' } }), show(got));
});

t.test('parser_test.go TestParseJSON', async (t) => {
  const tests = [
    {
      // set json scalars values, and replace one existing key
      input: 'outer.inner1="1",outer.inner3=3,outer.inner4=true,outer.inner5="true"',
      got: { outer: { inner1: 'overwrite', inner2: 'value2' } },
      expect: { outer: { inner1: '1', inner2: 'value2', inner3: 3, inner4: true, inner5: 'true' } },
      err: false,
    },
    {
      // set json objects and arrays, and replace one existing key
      input:
        'outer.inner1={"a":"1","b":2,"c":[1,2,3]},outer.inner3=["new value 1","new value 2"],outer.inner4={"aa":"1","bb":2,"cc":[1,2,3]},outer.inner5=[{"A":"1","B":2,"C":[1,2,3]}]',
      got: { outer: { inner1: { x: 'overwrite' }, inner2: 'value2', inner3: ['overwrite'] } },
      expect: {
        outer: {
          inner1: { a: '1', b: 2, c: [1, 2, 3] },
          inner2: 'value2',
          inner3: ['new value 1', 'new value 2'],
          inner4: { aa: '1', bb: 2, cc: [1, 2, 3] },
          inner5: [{ A: '1', B: 2, C: [1, 2, 3] }],
        },
      },
      err: false,
    },
    {
      // null assignment, and no value assigned (equivalent to null)
      input: 'outer.inner1=,outer.inner3={"aa":"1","bb":2,"cc":[1,2,3]},outer.inner3.cc[1]=null',
      got: { outer: { inner1: { x: 'overwrite' }, inner2: 'value2' } },
      expect: { outer: { inner1: null, inner2: 'value2', inner3: { aa: '1', bb: 2, cc: [1, null, 3] } } },
      err: false,
    },
    {
      // syntax error (upstream passes a nil map, which fails sooner; any map fails at the stray ']')
      input:
        'outer.inner1={"a":"1","b":2,"c":[1,2,3]},outer.inner3=["new value 1","new value 2"],outer.inner4={"aa":"1","bb":2,"cc":[1,2,3]},outer.inner5={"A":"1","B":2,"C":[1,2,3]}]',
      got: {},
      expect: null,
      err: true,
    },
  ];
  for (const v of VERSIONS) {
    for (const tt of structuredClone(tests)) {
      const got = tt.got as GoMap;
      const err = attempt(() => parseJSON(tt.input, got, v));
      if (tt.err) t.not(err, null, `${v} ${tt.input}: an error`);
      else {
        t.equal(err, null, `${v} ${tt.input}`);
        t.ok(deepEqual(got, tt.expect), `${v} ${tt.input}: ${show(got)}`);
      }
    }
  }
});

t.test('parser_test.go TestParseFile, TestParseIntoFile', async (t) => {
  const seen: string[] = [];
  const rs2v = (rs: string): unknown => {
    seen.push(rs);
    return rs === 'path1' ? 'value1' : '';
  };
  t.ok(deepEqual(parseFile('name1=path1', rs2v, V), { name1: 'value1' }));
  const got: GoMap = {};
  parseIntoFile('name1=path1', got, rs2v, V);
  t.ok(deepEqual(got, { name1: 'value1' }));
  t.same(seen, ['path1', 'path1'], 'the reader gets the path');
});

t.test('parser_test.go TestParseSetNestedLevels', async (t) => {
  checkTable(
    t,
    [
      { str: 'outer.middle.inner=value', expect: { outer: { middle: { inner: 'value' } } } },
      { str: nestedKey + '=value', err: true, errStr: NESTED_ERR },
    ],
    (s) => parse(s, V),
  );
});

t.test('literal_parser_test.go TestParseLiteral', async (t) => {
  const cases: Case[] = [
    { str: 'name', err: true },
    { str: 'name=', expect: { name: '' } },
    { str: 'name=value', expect: { name: 'value' } },
    { str: 'long_int_string=1234567890', expect: { long_int_string: '1234567890' } },
    { str: 'boolean=true', expect: { boolean: 'true' } },
    { str: 'is_null=null', expect: { is_null: 'null' } },
    { str: 'zero=0', expect: { zero: '0' } },
    { str: 'name1=null,name2=value2', expect: { name1: 'null,name2=value2' } },
    { str: 'name1=value,,,tail', expect: { name1: 'value,,,tail' } },
    { str: 'leading_zeros=00009', expect: { leading_zeros: '00009' } },
    { str: 'name=one two three', expect: { name: 'one two three' } },
    { str: 'outer.inner=value', expect: { outer: { inner: 'value' } } },
    { str: 'outer.middle.inner=value', expect: { outer: { middle: { inner: 'value' } } } },
    { str: 'name1.name2', err: true },
    { str: 'name1.name2=', expect: { name1: { name2: '' } } },
    { str: 'name1.=name2', err: true },
    { str: 'name1.,name2', err: true },
    { str: 'name1={value1,value2}', expect: { name1: '{value1,value2}' } },
    // List support
    { str: 'list[0]=foo', expect: { list: ['foo'] } },
    { str: 'list[0].foo=bar', expect: { list: [{ foo: 'bar' }] } },
    { str: 'list[-30].hello=world', err: true },
    { str: 'list[3]=bar', expect: { list: [null, null, null, 'bar'] } },
    { str: 'illegal[0]name.foo=bar', err: true },
    { str: 'noval[0]', expect: { noval: [] } },
    { str: 'noval[0]=', expect: { noval: [''] } },
    { str: 'nested[0][0]=1', expect: { nested: [['1']] } },
    { str: 'nested[1][1]=1', expect: { nested: [null, [null, '1']] } },
    { str: 'name1.name2[0].foo=bar', expect: { name1: { name2: [{ foo: 'bar' }] } } },
    { str: 'name1.name2[1].foo=bar', expect: { name1: { name2: [null, { foo: 'bar' }] } } },
    { str: 'name1.name2[1].foo=bar', expect: { name1: { name2: [null, { foo: 'bar' }] } } },
    { str: ']={}].', expect: { ']': '{}].' } },
    // issue test cases: , = $ ( ) { } . \ \\
    { str: 'name=val,val', expect: { name: 'val,val' } },
    { str: 'name=val.val', expect: { name: 'val.val' } },
    { str: 'name=val=val', expect: { name: 'val=val' } },
    { str: 'name=val$val', expect: { name: 'val$val' } },
    { str: 'name=(value', expect: { name: '(value' } },
    { str: 'name=value)', expect: { name: 'value)' } },
    { str: 'name=(value)', expect: { name: '(value)' } },
    { str: 'name={value', expect: { name: '{value' } },
    { str: 'name=value}', expect: { name: 'value}' } },
    { str: 'name={value}', expect: { name: '{value}' } },
    { str: 'name={value1,value2}', expect: { name: '{value1,value2}' } },
    { str: 'name=val\\val', expect: { name: 'val\\val' } },
    { str: 'name=val\\\\val', expect: { name: 'val\\\\val' } },
    { str: 'name=val\\\\\\val', expect: { name: 'val\\\\\\val' } },
    { str: 'name={val,.?*v\\0a!l)some', expect: { name: '{val,.?*v\\0a!l)some' } },
    { str: 'name=em%GT)tqUDqz,i-\\h+Mbqs-!:.m\\\\rE=mkbM#rR}@{-k@', expect: { name: 'em%GT)tqUDqz,i-\\h+Mbqs-!:.m\\\\rE=mkbM#rR}@{-k@' } },
  ];
  for (const v of VERSIONS) t.test(`Helm ${v}`, async (t) => checkTable(t, cases, (s) => parseLiteral(s, v)));
});

t.test('literal_parser_test.go TestParseLiteralInto', async (t) => {
  const tests = [
    {
      input: 'outer.inner1=value1,outer.inner3=value3,outer.inner4=4',
      input2: '',
      got: { outer: { inner1: 'overwrite', inner2: 'value2' } },
      expect: { outer: { inner1: 'value1,outer.inner3=value3,outer.inner4=4', inner2: 'value2' } },
    },
    {
      input: 'listOuter[0][0].type=listValue',
      input2: 'listOuter[0][0].status=alive',
      got: {},
      expect: { listOuter: [[{ type: 'listValue', status: 'alive' }]] },
    },
    {
      input: 'listOuter[0][0].type=listValue',
      input2: 'listOuter[1][0].status=alive',
      got: {},
      expect: { listOuter: [[{ type: 'listValue' }], [{ status: 'alive' }]] },
    },
    {
      input: 'listOuter[0][1][0].type=listValue',
      input2: 'listOuter[0][0][1].status=alive',
      got: { listOuter: [[[{ exited: 'old' }]]] },
      expect: { listOuter: [[[{ exited: 'old' }, { status: 'alive' }], [{ type: 'listValue' }]]] },
    },
  ];
  for (const tt of tests) {
    const got = tt.got as GoMap;
    parseLiteralInto(tt.input, got, V);
    if (tt.input2 !== '') parseLiteralInto(tt.input2, got, V);
    t.ok(deepEqual(got, tt.expect), `${tt.input}: ${show(got)}`);
  }
});

t.test('literal_parser_test.go TestParseLiteralNestedLevels', async (t) => {
  checkTable(
    t,
    [
      { str: 'outer.middle.inner=value', expect: { outer: { middle: { inner: 'value' } } } },
      { str: nestedKey + '=value', err: true, errStr: NESTED_ERR },
    ],
    (s) => parseLiteral(s, V),
  );
});

// ---------------------------------------------------------------------------------------------------
// Behaviour worth pinning by name (each also agrees with the oracle below).

t.test('v3 and v4 differ on an index that runs to the end of the argument', async (t) => {
  // v4 wraps io.EOF with %w ("error parsing index: %w") and its parse loop ends on errors.Is(err, io.EOF).
  t.equal(attempt(() => parse('a[1', '3.19')), 'error parsing index: EOF');
  t.same(parse('a[1', '4.2'), {});
  t.same(parse('a[1', '4.3'), {});
  t.same(parse('a[0][1', '4.3'), { a: [] });
  t.same(parseLiteral('a.b[7', '4.3'), {});
  t.equal(attempt(() => parseLiteral('a.b[7', '3.19')), 'error parsing index: EOF');
});

t.test('typedVal is Go typedVal', async (t) => {
  const cases: [string, unknown][] = [
    ['true', true],
    ['TRUE', true],
    ['fAlSe', false],
    ['falſe', false], // U+017F folds to s under strings.EqualFold
    ['NuLL', null],
    ['0', 0],
    ['00', '00'],
    ['007', '007'],
    ['-007', -7],
    ['+5', 5],
    ['-0', 0],
    ['1e3', '1e3'],
    [' 5', ' 5'],
    ['٣', '٣'],
    ['9223372036854775807', 9223372036854775807],
    ['9223372036854775808', '9223372036854775808'],
    ['-9223372036854775808', -9223372036854775808],
    ['-9223372036854775809', '-9223372036854775809'],
    ['', ''],
  ];
  for (const [s, want] of cases) t.ok(Object.is(typedVal(s, false), want), `${show(s)} -> ${show(want)}`);
  t.equal(typedVal('true', true), 'true');
});

t.test('maps take "__proto__" and "constructor" as plain keys', async (t) => {
  const got = parse('__proto__.polluted=1,constructor.prototype.x=2,a[0].__proto__=3', V);
  t.equal(Object.getPrototypeOf(got), Object.prototype);
  t.ok(Object.prototype.hasOwnProperty.call(got, '__proto__'));
  t.same(Object.keys(got), ['__proto__', 'constructor', 'a']);
  t.equal(({} as Record<string, unknown>).polluted, undefined, 'Object.prototype untouched');
  t.same(JSON.parse(JSON.stringify(got)), JSON.parse('{"__proto__":{"polluted":1},"constructor":{"prototype":{"x":2}},"a":[{"__proto__":3}]}'));
  const j: GoMap = {};
  parseJSON('x={"__proto__":{"y":1}}', j, V);
  t.ok(Object.prototype.hasOwnProperty.call(j.x, '__proto__'));
  t.equal(Object.getPrototypeOf(j.x), Object.prototype);
});

t.test('a type clash is a recovered panic with Go runtime text', async (t) => {
  t.equal(attempt(() => parse('a=1,a.b=2', V)), 'unable to parse key: interface conversion: interface {} is int64, not map[string]interface {}');
  t.equal(attempt(() => parse('a=x,a[0]=2', V)), 'unable to parse key: interface conversion: interface {} is string, not []interface {}');
  t.equal(attempt(() => parse('a=null,a[0]=2', V)), 'unable to parse key: interface conversion: interface {} is nil, not []interface {}');
  t.equal(attempt(() => parse('a[0]=x,a[0][0]=2', V)), 'unable to parse key: interface conversion: interface {} is string, not []interface {}');
});

// ---------------------------------------------------------------------------------------------------
// (3) Hostile inputs: deep, long, wide. Bounded in time, no stack overflow.

t.test('hostile inputs neither hang nor blow the stack', async (t) => {
  const started = process.hrtime.bigint();
  const depth = 200_000;
  // listItem -> listItem, unbounded in Go: a list nested 200k deep.
  let got = parse('a' + '[0]'.repeat(depth) + '=1', V);
  let node: unknown = got.a;
  let levels = 0;
  while (Array.isArray(node)) {
    node = node[0];
    levels++;
  }
  t.equal(levels, depth, 'nested lists');
  t.equal(node, 1);
  // key -> listItem -> key: `[0].` does not count toward MaxNestedNameLevel.
  got = parse('a' + '[0].a'.repeat(50_000) + '=1', V);
  t.ok(got.a, 'alternating lists and maps');
  // Unterminated brackets and runaway escapes.
  t.same(parse('a' + '['.repeat(100_000), '4.3'), {});
  t.equal(attempt(() => parse('a' + '['.repeat(100_000), '3.19')), 'error parsing index: EOF');
  t.match(attempt(() => parse('a[0]' + '['.repeat(100_000) + ']', V)), /^error parsing index: strconv.Atoi/);
  t.match(attempt(() => parse('\\'.repeat(1_000_001), V)), /has no value/);
  // Deep names are bounded by MaxNestedNameLevel.
  t.equal(attempt(() => parse('a.'.repeat(100_000) + 'b=1', V)), NESTED_ERR);
  // --set-json: Go's scanner allows 10000 levels.
  const j: GoMap = {};
  parseJSON('a=' + '['.repeat(10_000) + ']'.repeat(10_000), j, V);
  t.ok(Array.isArray(j.a));
  t.equal(attempt(() => parseJSON('a=' + '['.repeat(10_001) + ']'.repeat(10_001), {}, V)), "invalid character '[' exceeded max depth");
  // Padding to MaxIndex is allowed; growing lists past the cell budget is refused, not followed.
  t.equal((parse('a[65536]=1', V).a as unknown[]).length, 65537);
  const many = Array.from({ length: 300 }, (_, i) => `k${i}[65536]=1`).join(',');
  t.match(attempt(() => parse(many, V)), /cilium-guard: .* more than 16777216 list elements/);
  const growing = Array.from({ length: 65536 }, (_, i) => `a[${i + 1}]=1`).join(',');
  t.match(attempt(() => parse(growing, V)), /more than/);
  t.equal(MAX_LIST_CELLS, 1 << 24);
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  t.ok(seconds < 20, `bounded in time (${seconds.toFixed(2)} s)`);
});

// ---------------------------------------------------------------------------------------------------
// (2) Differential: the port against Helm's Go code.

type Kind = 'set' | 'string' | 'json' | 'literal' | 'file';
interface Op {
  kind: Kind;
  arg: string;
}
interface Answer {
  ok: boolean;
  value?: unknown;
  error?: string;
  panic?: boolean;
}

/** One oracle process; requests are streamed and answered in order. */
class Oracle {
  private readonly proc: ChildProcessWithoutNullStreams;
  private readonly waiting: ((a: Answer) => void)[] = [];
  private stderr = '';

  constructor(bin: string) {
    this.proc = spawn(bin, [], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.proc.stderr.on('data', (d: Buffer) => (this.stderr += d.toString()));
    createInterface({ input: this.proc.stdout }).on('line', (line) => {
      const w = this.waiting.shift();
      if (w) w(JSON.parse(line) as Answer);
    });
    this.proc.stdin.on('error', () => {}); // the exit handler reports
    this.proc.on('exit', (code, signal) => {
      this.dead = `oracle exited (${code ?? signal}): ${this.stderr}`;
      for (const w of this.waiting.splice(0)) w({ ok: false, error: this.dead, panic: true });
    });
  }

  private dead: string | null = null;

  ask(version: '3' | '4', ops: Op[]): Promise<Answer> {
    if (this.dead !== null) return Promise.resolve({ ok: false, error: this.dead, panic: true });
    return new Promise((resolve) => {
      this.waiting.push(resolve);
      this.proc.stdin.write(JSON.stringify({ version, ops }) + '\n');
    });
  }

  close(): void {
    this.proc.stdin.end();
  }
}

/** A message with Go's \\u and \\U escapes of non-ASCII runes undone. */
const unescapeGoQuoting = (m: string): string =>
  m.replace(/\\U([0-9a-f]{8})|\\u([0-9a-f]{4})/g, (all, a?: string, b?: string) => {
    const cp = parseInt(a ?? b ?? '0', 16);
    return cp >= 0xa0 && cp <= 0x10ffff ? String.fromCodePoint(cp) : all;
  });

/** The oracle's --set-file reader: "file:" + path, failing on a path with "!". */
const fileReader = (rs: string): unknown => {
  if (rs.includes('!')) throw new Error(`cannot read file ${rs}`);
  return 'file:' + rs;
};

function applyPort(version: HelmVersion, ops: Op[]): Answer {
  const dest: GoMap = {};
  for (const op of ops) {
    const err = attempt(() => {
      switch (op.kind) {
        case 'set':
          return parseInto(op.arg, dest, version);
        case 'string':
          return parseIntoString(op.arg, dest, version);
        case 'json':
          return parseJSON(op.arg, dest, version);
        case 'literal':
          return parseLiteralInto(op.arg, dest, version);
        case 'file':
          return parseIntoFile(op.arg, dest, fileReader, version);
      }
    });
    if (err !== null) return { ok: false, error: err };
  }
  return { ok: true, value: dest };
}

// Pieces of arguments, biased to what makes strvals hard.
const NAMES = ['a', 'b', 'list', 'x', 'a.b', 'a.c', 'é', '日本', '😀', '__proto__', 'k-1', 'A'];
const NAME_BITS = ['.', '\\', '\\.', '\\=', '\\,', '\\[', '\\\\', '[0]', '[1]', '[3]', '[-1]', '[007]', '[+1]', '[ 1]', '[65536]', '[65537]', '[99999999999999999999]', '[', ']', '[x]', '[0][0]', '[0].', '[1].a', '', ' '];
const VALUES = [
  'true', 'False', 'NULL', 'nuLL', 'falſe', '0', '00', '007', '-5', '+5', '-0', '1e3', '1.5', '9223372036854775807', '9223372036854775808',
  '-9223372036854775809', 'x', 'x y', '', 'a,b', 'x,y=z', '{a,b}', '{}', '{1,true,null}', '{a', 'a}', '{a\\,b}', '{a,b}c', '{,}', '\\', 'v\\', '\\,',
  'é', '😀', '\u00a0', '\u0085', 'a=b', 'a.b', '[0]', 'k\\=v',
];
const JSON_VALUES = [
  '"x"', '1', '-0', '1.5', '1e400', '-1e-400', '1e2', '12345678901234567890', 'true', 'false', 'null', 'nul', 'tru', '[1,"a",null]', '[]', '{}', '{"a":1,"a":2}',
  '{"a":{"b":[1,{"c":null}]}}', '[[', ']]', '{"a":', '"\\ud800"', '"\\ud83d\\ude00"', '"\\u00e9\\n\\t\\/"', '"é"', 'é', ' 1', '\u00a0"s"', '"a,b"', '[1,2],', '1 ', '01', '-', '1.', '1e', '"\u0001"',
  '{"__proto__":1}', "'x'", '"x"y', '1x', '{"a" 1}', '[1 2]',
];
const JOINERS = [',', ',', ',', ',', ',', ',', ',', ',', '', ' ', '=', '.', '\\'];

const pick = <T>(xs: readonly T[]): fc.Arbitrary<T> => fc.constantFrom(...xs);

/** A name: a base, then a few hard bits. */
const nameArb = fc
  .tuple(pick(NAMES), fc.array(fc.oneof({ weight: 2, arbitrary: pick(NAME_BITS) }, { weight: 3, arbitrary: pick(NAMES).map((n) => '.' + n) }, { weight: 2, arbitrary: pick(['[0]', '[1]', '[2]']) }), { maxLength: 3 }))
  .map(([n, bits]) => n + bits.join(''));

const assignment = (values: fc.Arbitrary<string>): fc.Arbitrary<string> =>
  fc.tuple(nameArb, fc.oneof({ weight: 15, arbitrary: fc.constant('=') }, { weight: 1, arbitrary: pick(JOINERS) }), values).map(([n, eq, v]) => n + eq + v);

const valueArb = fc.oneof({ weight: 6, arbitrary: pick(VALUES) }, { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 6 }) });
const jsonValueArb = fc.oneof({ weight: 6, arbitrary: pick(JSON_VALUES) }, { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 2 }).map((v) => JSON.stringify(v) ?? 'null') });

/** An argument: assignments joined (mostly by commas), or a soup of the same pieces. */
const argArb = (values: fc.Arbitrary<string>): fc.Arbitrary<string> =>
  fc.oneof(
    { weight: 7, arbitrary: fc.array(fc.tuple(assignment(values), pick(JOINERS)), { minLength: 1, maxLength: 3 }).map((xs) => xs.map(([a, j]) => a + j).join('').replace(/,$/, '')) },
    { weight: 1, arbitrary: fc.array(fc.oneof(pick(NAMES), pick(NAME_BITS), pick(JOINERS), values), { minLength: 1, maxLength: 10 }).map((xs) => xs.join('')) },
  );

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 6, arbitrary: argArb(valueArb).map((arg) => ({ kind: 'set' as const, arg })) },
  { weight: 2, arbitrary: argArb(valueArb).map((arg) => ({ kind: 'string' as const, arg })) },
  { weight: 3, arbitrary: argArb(jsonValueArb).map((arg) => ({ kind: 'json' as const, arg })) },
  { weight: 1, arbitrary: argArb(valueArb).map((arg) => ({ kind: 'literal' as const, arg })) },
  { weight: 1, arbitrary: argArb(fc.oneof({ weight: 10, arbitrary: valueArb }, { weight: 1, arbitrary: pick(['p!', '{p,q!}']) })).map((arg) => ({ kind: 'file' as const, arg })) },
);

/** Several arguments in sequence, as Helm's MergeValues applies them to one map (type clashes between them). */
const opsArb = fc.array(opArb, { minLength: 1, maxLength: 3 });

const RUNS = 5000;
const SEED = 0x5e7_5e7;

t.test('differential: the port agrees with Helm v3.19.4 and v4.3.1 (Go oracle)', async (t) => {
  const o = new Oracle(path.join(oracle(), 'strvals'));
  t.teardown(() => o.close());
  const stats = { cases: 0, agreed: 0, bothOk: 0, bothErr: 0, sameMessage: 0, numberTypeOnly: 0, quotingOnly: 0 };
  const errorKinds = new Map<string, number>();
  const differing: string[] = [];
  const property = fc.asyncProperty(opsArb, async (ops) => {
    for (const [portVersion, goVersion] of [['3.19', '3'], ['4.2', '4'], ['4.3', '4']] as const) {
      const go = await o.ask(goVersion, ops);
      if (go.panic) throw new Error(`oracle failed: ${go.error}`);
      const port = applyPort(portVersion, ops);
      stats.cases++;
      const agree = go.ok === port.ok && (!go.ok || deepEqual(port.value, go.value));
      if (!agree) {
        const repro = `Helm ${portVersion} ops=${show(ops)}\n  go:   ${show(go)}\n  port: ${show(port)}`;
        t.comment(`disagreement (reproduce: applyPort(${show(portVersion)}, ${show(ops)})):\n${repro}`);
        return false;
      }
      stats.agreed++;
      if (go.ok) stats.bothOk++;
      else {
        stats.bothErr++;
        const kind = go.error!.replace(/[:"'\[].*$/, '');
        errorKinds.set(kind, (errorKinds.get(kind) ?? 0) + 1);
        // The message differences allowed (see strvals.ts): which Go number type a panic names, and
        // whether a rune assigned after Unicode 15.0 is printable when %q quotes it.
        if (go.error === port.error) stats.sameMessage++;
        else if (go.error!.replace(/int64|float64/g, 'N') === port.error!.replace(/int64|float64/g, 'N')) stats.numberTypeOnly++;
        else if (unescapeGoQuoting(go.error!) === unescapeGoQuoting(port.error!)) stats.quotingOnly++;
        else differing.push(`${show(ops)}: go ${show(go.error)} port ${show(port.error)}`);
      }
    }
    return true;
  });
  await fc.assert(property, { seed: SEED, numRuns: RUNS, endOnFailure: false });
  t.comment(
    `differential: ${stats.cases} cases (${RUNS} argument sequences x 3 Helm versions), ${stats.agreed} agreed: ${stats.bothOk} both ok, ` +
      `${stats.bothErr} both errors (${stats.sameMessage} with Go's exact message, ${stats.numberTypeOnly} differing only in the Go number type ` +
      `a panic names, ${stats.quotingOnly} only in how %q quotes a rune newer than Unicode 15.0)`,
  );
  t.comment(`errors: ${show([...errorKinds].sort((a, b) => b[1] - a[1]))}`);
  t.equal(stats.agreed, stats.cases, 'every case agrees');
  t.ok(stats.bothOk > stats.cases / 4 && stats.bothErr > stats.cases / 4, 'both outcomes are well represented');
  t.same(differing, [], 'error messages are Go\'s');
});

t.test('differential: hand-picked hard cases and hostile inputs against the oracle', async (t) => {
  const o = new Oracle(path.join(oracle(), 'strvals'));
  t.teardown(() => o.close());
  const set = (...args: string[]): Op[] => args.map((arg) => ({ kind: 'set', arg }));
  const cases: Op[][] = [
    set('a[1'), set('a[0][1'), set('a.b[1'), set('a[0].b[2'), set('a=1', 'a[0]=1'), set('a=null', 'a.b=1'), set('a[0]x=1'), set('a={1,2}x'),
    set('a=falſe,b=9223372036854775807,c=-0,d=+5'), set('a[99999999999999999999x]=1'), set('"é\n\'=1,x'), set('a[2].b=1,a[0][1]=x'),
    set('a[0]=1', 'a[0].b=2'), set('a[1].b=1', 'a[0][0]=2'), set('a.b=1', 'a[0]=1'), set('a[0]=x', 'a[0][0]=1'), set('[0]=1'), set('.a=1'), set('=1'),
    set('a=1,'), set('a,'), set(','), set('\\'), set('a\\'), set('a=\\'), set('a={'), set('a={\\'), set('a={b\\}'), set('a=b\\,'), set('a[0]={1,2}'), set('a[0]={1'),
    set('a[-1].b=1'), set('a[65536]=1'), set('a[65537]=1'), set('a[65537][0]=1'), set('a[0][65537]=1'), set('a[0]' + '[0]'.repeat(2000) + '=1'),
    set('a' + '[0].a'.repeat(2000) + '=1'), set('a' + '['.repeat(3000)), set('a.'.repeat(31) + 'b=1'), set('a.'.repeat(30) + 'b=1'),
    [{ kind: 'json', arg: 'a=' + '['.repeat(10_000) + ']'.repeat(10_000) }], [{ kind: 'json', arg: 'a=' + '['.repeat(10_001) }],
    [{ kind: 'json', arg: 'a=1 b=2 ,c=3,,d=4' }], [{ kind: 'json', arg: 'a[0]=1,a[2]="x" , a[1]={}' }], [{ kind: 'json', arg: 'a=\u00a0\u2028"s"' }],
    [{ kind: 'json', arg: 'a="\\udc00\\ud800\\ud800\\udc00"' }], [{ kind: 'json', arg: 'a=1e400' }], [{ kind: 'json', arg: 'a=[1e400,"' }],
    [{ kind: 'literal', arg: 'a[0]=x,y' }], [{ kind: 'literal', arg: 'a\\.b=c' }], [{ kind: 'literal', arg: 'a[1' }], [{ kind: 'literal', arg: 'a=1' }, { kind: 'literal', arg: 'a.b=1' }],
    [{ kind: 'file', arg: 'a={p,q!}' }], [{ kind: 'file', arg: 'a=p!,b=1' }], [{ kind: 'file', arg: 'a[0]=p' }, { kind: 'set', arg: 'a[0][0]=1' }],
    [{ kind: 'string', arg: 'a={true,1}' }],
    ...['"\\b\\f\\r\\n\\t\\"\\\\\\/"', '"\\q"', '"\\u12"', '"\\u00E9\\uD83D\\uDE00"', '{"a" :1 , "b":[ ] }', '{,}', '[1,]', '{"a":1,}', '{"a"}', '{1:2}', '-01', '1.5e+3x', '1E-2', '-x', '1.x', '1ex', 'nul', 'fals', 'trux', '"a\tb"', '[1]]', '{}}', '\u0085[ 1 ]']
      .map((v): Op[] => [{ kind: 'json', arg: 'a=' + v + ',b=1' }]),
  ];
  for (const ops of cases) {
    for (const [portVersion, goVersion] of [['3.19', '3'], ['4.2', '4'], ['4.3', '4']] as const) {
      const go = await o.ask(goVersion, ops);
      if (go.panic) throw new Error(`oracle failed: ${go.error}`);
      const port = applyPort(portVersion, ops);
      const label = `${portVersion} ${show(ops).slice(0, 120)}`;
      t.equal(port.ok, go.ok, `${label}: ok`);
      if (go.ok) t.ok(deepEqual(port.value, go.value), `${label}: value`);
      else t.equal(port.error, go.error, `${label}: error message`);
    }
  }
});

t.test('differential: every argument of up to 4 runes over the hard alphabets, against the oracle', async (t) => {
  const o = new Oracle(path.join(oracle(), 'strvals'));
  t.teardown(() => o.close());
  const all = (alphabet: string, maxLen: number): string[] => {
    const out = [''];
    let frontier = [''];
    for (let n = 1; n <= maxLen; n++) {
      const next: string[] = [];
      for (const s of frontier) for (const c of alphabet) next.push(s + c);
      for (const s of next) out.push(s);
      frontier = next;
    }
    return out;
  };
  const plan: [Kind, string[]][] = [
    ['set', all('a.[]0=,{}\\-1', 4)],
    ['string', all('a.[]=,{}\\1', 4)],
    ['literal', all('a.[]0=,{\\', 4)],
    ['json', all('a=[]{}",:1.\\ ', 4)],
  ];
  for (const [kind, args] of plan) {
    let cases = 0;
    let agreed = 0;
    const bad: string[] = [];
    for (const [portVersion, goVersion] of [['3.19', '3'], ['4.3', '4']] as const) {
      const answers = await Promise.all(args.map((arg) => o.ask(goVersion, [{ kind, arg }])));
      args.forEach((arg, i) => {
        const go = answers[i]!;
        const port = applyPort(portVersion, [{ kind, arg }]);
        cases++;
        const same = go.ok
          ? port.ok && deepEqual(port.value, go.value)
          : !port.ok && go.error!.replace(/int64|float64/g, 'N') === port.error!.replace(/int64|float64/g, 'N');
        if (same) agreed++;
        else if (bad.length < 10) bad.push(`Helm ${portVersion} ${kind} ${show(arg)}: go ${show(go)} port ${show(port)}`);
      });
    }
    t.comment(`${kind}: ${cases} arguments, ${agreed} agreed`);
    t.same(bad, [], `${kind}: the port answers as Go (values, and error messages up to the number type a panic names)`);
  }
});
