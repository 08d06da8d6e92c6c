// The effective Helm values of one rendered source, computed once the way Argo CD and Helm compute
// them, with each key's origin; every rule reads this one view.
//
//   chart values.yaml < value files (invisible) < values | valuesObject (one temp file, read as Helm of
//   the configured version reads a values file) < --set < --set-string < --set-file (paths visible,
//   contents not), each `--set` argument exactly as Argo CD builds it, parsed by Helm's strvals.
//
// What cannot be seen (value files, a Git chart's own files, file parameters, sync-time variables,
// parameters whose outcome depends on Go's random map order) makes a key unknown, never guessed: a
// key is known only when every content of the invisible layers leads to the same value. Those
// contents are explored with marker values placed where the key is looked up.
import { depthExceeds, type YamlLimits } from '../yaml11.js';
import { jsonEqual } from '../json.js';
import type { JsonObject } from '../types.js';
import { readHelmValues } from './goyaml.js';
import { coalescedAt, deepCopy, isTable, mergeMaps } from './coalesce.js';
import { SYNC_TIME_VARS, appContext, templateOpts, type AppContext, type SetArg, type TemplateOpts } from './argocd-helm.js';
import type { HelmVersion } from './helm-version.js';
import { StrvalsError, parseInto, parseIntoFile, parseIntoString } from './strvals.js';

export type Segment = string | number;

export type Layer = 'chart' | 'hidden' | 'valueFiles' | 'values' | 'valuesObject' | '--set' | '--set-string' | '--set-file';

export interface ValueOrigin {
  layer: Layer;
  /** The Application field that supplied it (e.g. `spec.source.helm.parameters[2]`). */
  fieldPath: string;
}

export type Lookup =
  | { state: 'set'; value: unknown; origin: ValueOrigin }
  /** Nothing the user gave sets it; `value` is the chart's default when chart defaults were given. */
  | { state: 'default'; origin: ValueOrigin; why: string; value?: unknown }
  | { state: 'unknown'; origin: ValueOrigin; why: string };

export interface RenderError {
  fieldPath: string;
  message: string;
  /** False when only some of the possible argument orders or invisible contents fail. */
  certain: boolean;
}

export interface EffectiveValues {
  opts: TemplateOpts;
  /** Helm would refuse to render these values: why. */
  error: RenderError | null;
  /** The value of a key after every layer (chart defaults excepted), or why it cannot be known. */
  get(path: readonly Segment[]): Lookup;
  /**
   * Whether the visible layers put a non-null value at `path`: a walk, no lookup. get() answers
   * `set` only where this is true, so a rule that only acts on `set` values can skip the lookup
   * (its origin, the invisible-layer probes, the chart defaults) for every key nobody wrote.
   */
  present(path: readonly Segment[]): boolean;
  /** The user's values as Helm folds them (what cannot be known left out; see unknowns()). */
  tree(): JsonObject;
  /** The keys the visible layers put in the mapping at `path` (its values may still be unknown). */
  keysAt(path: readonly Segment[]): string[];
  /** Keys whose value cannot be known, and why; key "*" for a layer that may set anything. */
  unknowns(): Array<{ key: string; why: string }>;
  /**
   * Where the outcome depends on the order Argo CD passes parameters in (a Go map): one view per
   * distinct outcome, each with that order fixed, so a rule can tell "bad in every order" from
   * "bad in some". Otherwise just this view.
   */
  alternatives(): readonly EffectiveValues[];
  /** Describes the order a view from alternatives() fixes; empty for the view itself. */
  readonly orderNote: string;
  /**
   * What a rule computes from this view alone, computed once and kept with the view (and gone
   * with it): `make()` the first time for `key`, the same value after.
   */
  memo<T>(key: symbol, make: () => T): T;
}

export interface EffectiveOptions {
  version: HelmVersion;
  limits: YamlLimits;
  /** A layer below the values that cilium-guard cannot read (a Git chart directory's files), and why. */
  hidden?: string | null;
  /** Namespaces that are Argo CD's own (ARGOCD_APP_NAME is `<ns>_<name>` elsewhere). */
  controlPlaneNamespaces?: readonly string[];
  /** The contents of helm.valueFiles, in order, when the caller has them (`align --app-values`). */
  valueFileContents?: JsonObject[];
  /** The chart's values.yaml, when known: the bottom layer, coalesced as Helm does (coalesce.ts). */
  chartDefaults?: JsonObject;
}

/** Marks a value that only exists where cilium-guard cannot look. Input containing it is refused. */
const MARK = '\u0000cilium-guard-unknown\u0000';
/** Most `--set` arguments over which hidden contents are explored; beyond, hidden layers make every key unknown. */
const MAX_EXPLORED_ARGS = 500;
/** Largest group of parameters touching the same top-level key whose orders are all tried (4! = 24). */
const MAX_PERMUTED = 4;

/**
 * Whether a marker appears anywhere in a value: iterative, as the input may nest without bound. A
 * scalar answers at once, and the walk allocates only its stack (for-in, not Object.keys): it runs
 * over every source and most lookups of a Cilium evaluation.
 */
function containsMark(v: unknown): boolean {
  if (typeof v === 'string') return v.includes(MARK);
  if (typeof v !== 'object' || v === null) return false;
  const stack: object[] = [v];
  while (stack.length > 0) {
    const x = stack.pop() as object;
    if (Array.isArray(x)) {
      for (let i = 0; i < x.length; i++) {
        const y: unknown = x[i];
        if (typeof y === 'string') {
          if (y.includes(MARK)) return true;
        } else if (typeof y === 'object' && y !== null) stack.push(y);
      }
    } else {
      for (const k in x) {
        if (k.includes(MARK)) return true;
        const y: unknown = (x as Record<string, unknown>)[k];
        if (typeof y === 'string') {
          if (y.includes(MARK)) return true;
        } else if (typeof y === 'object' && y !== null) stack.push(y);
      }
    }
  }
  return false;
}

export function walk(tree: unknown, path: readonly Segment[]): { found: boolean; value: unknown } {
  let node: unknown = tree;
  for (const seg of path) {
    node = step(node, seg);
    if (node === NONE) return { found: false, value: undefined };
  }
  return { found: true, value: node };
}

export function pathString(path: readonly Segment[]): string {
  let out = '';
  for (let i = 0; i < path.length; i++) {
    const s = path[i] as Segment;
    out += typeof s === 'number' ? `[${s}]` : i === 0 ? s : `.${s}`;
  }
  return out;
}

/** A tree holding `leaf` at `path` (lists padded with null, as strvals pads them). */
function treeWith(path: readonly Segment[], leaf: unknown): JsonObject {
  const root: JsonObject = {};
  let node: unknown = root;
  path.forEach((seg, i) => {
    const next: unknown = i === path.length - 1 ? leaf : typeof path[i + 1] === 'number' ? [] : {};
    if (Array.isArray(node)) {
      const idx = seg as number;
      while (node.length < idx) node.push(null);
      node[idx] = next;
    } else if (isTable(node)) Object.defineProperty(node, String(seg), { value: next, enumerable: true, writable: true, configurable: true });
    node = next;
  });
  return root;
}

/** The lookup cache: a trie of path segments. */
interface PathCache {
  found?: Lookup;
  next?: Map<Segment, PathCache>;
}

type Fold = { ok: true; tree: JsonObject } | { ok: false; error: RenderError };

const fileReader = (arg: SetArg) => (): unknown => `${MARK}file:${arg.fieldPath}`;

function applyArg(arg: SetArg, dest: JsonObject, version: HelmVersion): void {
  if (arg.flag === '--set') parseInto(arg.arg, dest, version);
  else if (arg.flag === '--set-string') parseIntoString(arg.arg, dest, version);
  else parseIntoFile(arg.arg, dest, fileReader(arg), version);
}

function strvalsError(arg: SetArg, err: unknown): RenderError {
  const msg = err instanceof StrvalsError || err instanceof Error ? err.message : String(err);
  const kind = arg.flag === '--set' ? 'set' : arg.flag === '--set-string' ? 'set-string' : 'set-file';
  return {
    fieldPath: arg.fieldPath,
    certain: true,
    message: `Helm refuses to render: failed parsing --${kind} data: ${msg} (Argo CD passes ${arg.flag} ${JSON.stringify(arg.arg)})`,
  };
}

function* permutations<T>(items: T[]): Generator<T[]> {
  if (items.length <= 1) {
    yield items;
    return;
  }
  for (let i = 0; i < items.length; i++) {
    const rest = [...items.slice(0, i), ...items.slice(i + 1)];
    for (const p of permutations(rest)) yield [items[i] as T, ...p];
  }
}

interface Ambiguity {
  keys: Set<string>;
  why: string;
  fieldPath: string;
  args: Set<SetArg>;
  /** One order per distinct outcome, when every order could be tried. */
  orders: SetArg[][] | null;
}

/** Most concrete-order views alternatives() builds; beyond, the keys stay unknown. */
const MAX_WORLDS = 16;

class Evaluation implements EffectiveValues {
  error: RenderError | null = null;
  private final: JsonObject = {};
  private extra: { tree: JsonObject; layer: Layer; fieldPath: string } | null = null;
  private readonly args: SetArg[];
  private readonly ambiguous: Ambiguity[] = [];
  private readonly hiddenWhy: string | null;
  /** Lookups by path, one level per segment: a hit builds no key (a Map tells 0 from "0"). */
  private readonly cache: PathCache = {};
  private readonly argTrees = new Map<SetArg, JsonObject | null>();
  readonly orderNote: string;
  private readonly fixedOrder: boolean;

  constructor(
    readonly opts: TemplateOpts,
    private readonly helm: JsonObject,
    private readonly o: EffectiveOptions,
    /** A fixed argument order (a view of alternatives()): no order is then ambiguous. */
    fixed?: { args: SetArg[]; note: string },
  ) {
    this.args = fixed ? fixed.args : [...opts.set, ...opts.setString, ...opts.setFile];
    this.orderNote = fixed?.note ?? '';
    this.fixedOrder = fixed !== undefined;
    const why: string[] = [];
    if (o.hidden) why.push(o.hidden);
    if (opts.valueFiles.length > 0 && !o.valueFileContents) why.push(`value files (${opts.valueFiles.join(', ')}) that cilium-guard cannot read`);
    this.hiddenWhy = why.length > 0 ? why.join(' and ') : null;
    this.evaluate();
  }

  private evaluate(): void {
    if (containsMark(this.helm)) {
      this.error = { fieldPath: 'helm', certain: true, message: 'contains a character sequence reserved by cilium-guard (NUL bytes); remove it' };
      return;
    }
    const ev = this.opts.extraValues;
    if (ev) {
      if (ev.fromObject) {
        const vo = this.helm.valuesObject;
        if (!isTable(vo)) {
          this.error = { fieldPath: ev.fieldPath, certain: true, message: `${ev.fieldPath} must be a mapping of Helm values` };
          return;
        }
        if (depthExceeds(vo, this.o.limits.depth)) {
          this.error = { fieldPath: ev.fieldPath, certain: true, message: `${ev.fieldPath} nests deeper than ${this.o.limits.depth} levels; flatten it` };
          return;
        }
        this.extra = { tree: vo, layer: 'valuesObject', fieldPath: ev.fieldPath };
      } else {
        const read = readHelmValues(ev.text, this.o.version, this.o.limits);
        if (!read.ok) {
          this.error = {
            fieldPath: ev.fieldPath,
            certain: true,
            message: `${ev.fieldPath} ${read.error}; Helm cannot read it either (use valuesObject, or fix the YAML)`,
          };
          return;
        }
        this.extra = { tree: read.value, layer: 'values', fieldPath: ev.fieldPath };
      }
    }
    if (!this.fixedOrder) this.findAmbiguities();
    const folded = this.fold({});
    if (!folded.ok) {
      this.error = folded.error;
      return;
    }
    this.final = folded.tree;
  }

  /** Groups of arguments in one flag group that touch the same top-level key and whose order matters. */
  private findAmbiguities(): void {
    for (const group of [this.opts.set, this.opts.setString, this.opts.setFile]) {
      if (group.length < 2) continue;
      const byKey = new Map<string, SetArg[]>();
      for (const arg of group) {
        for (const k of this.keysOf(arg)) {
          const list = byKey.get(k) ?? [];
          list.push(arg);
          byKey.set(k, list);
        }
      }
      // Connected components of arguments sharing a key.
      const seen = new Set<SetArg>();
      for (const start of group) {
        if (seen.has(start)) continue;
        const comp: SetArg[] = [];
        const keys = new Set<string>();
        const stack = [start];
        seen.add(start);
        while (stack.length > 0) {
          const a = stack.pop() as SetArg;
          comp.push(a);
          for (const k of this.keysOf(a)) {
            keys.add(k);
            for (const b of byKey.get(k) ?? []) {
              if (!seen.has(b)) {
                seen.add(b);
                stack.push(b);
              }
            }
          }
        }
        if (comp.length < 2) continue;
        const fieldPath = comp.map((a) => a.fieldPath).join(', ');
        const why = `parameters ${fieldPath} set overlapping keys and Argo CD passes them to Helm in random order (a Go map)`;
        const orders = comp.length > MAX_PERMUTED ? null : this.distinctOrders(comp, keys);
        if (orders === null || orders.length > 1) {
          this.ambiguous.push({ keys, why, fieldPath: comp[0]?.fieldPath ?? '', args: new Set(comp), orders });
        }
      }
    }
  }

  /** One order per distinct outcome of a group of arguments (its keys and whether Helm fails). */
  private distinctOrders(comp: SetArg[], keys: Set<string>): SetArg[][] {
    const base = this.extra ? deepCopy(this.extra.tree) : {};
    const found: Array<{ outcome: unknown; order: SetArg[] }> = [];
    for (const order of permutations(comp)) {
      const tree = deepCopy(base);
      let outcome: unknown;
      try {
        for (const a of order) applyArg(a, tree, this.o.version);
        outcome = depthExceeds(tree, this.o.limits.depth) ? 'too deep' : [...keys].sort().map((k) => [k, tree[k] ?? null]);
      } catch {
        outcome = 'error';
      }
      if (!found.some((f) => jsonEqual(f.outcome, outcome))) found.push({ outcome, order });
    }
    return found.map((f) => f.order);
  }

  /** Built once: an evaluation is shared by the reviews of the same source content. */
  private views: readonly EffectiveValues[] | null = null;

  alternatives(): readonly EffectiveValues[] {
    this.views ??= this.buildAlternatives();
    return this.views;
  }

  private buildAlternatives(): EffectiveValues[] {
    if (this.ambiguous.length === 0 || this.ambiguous.some((a) => a.orders === null)) return [this];
    let worlds: SetArg[][][] = [[]];
    for (const a of this.ambiguous) {
      worlds = worlds.flatMap((w) => (a.orders as SetArg[][]).map((o) => [...w, o]));
      if (worlds.length > MAX_WORLDS) return [this];
    }
    return worlds.map((chosen) => {
      const inOrder = new Map<SetArg, SetArg[]>();
      chosen.forEach((order, i) => inOrder.set([...(this.ambiguous[i] as Ambiguity).args][0] as SetArg, order));
      const placed = new Set(chosen.flat());
      // Each ambiguous group in its chosen order, where its first argument stood; groups of
      // different flags keep Helm's order (--set, --set-string, --set-file), as do other arguments.
      const args: SetArg[] = [];
      for (const arg of this.args) {
        const group = inOrder.get(arg);
        if (group) args.push(...group);
        else if (!placed.has(arg)) args.push(arg);
      }
      const note = chosen.map((order) => order.map((a) => a.fieldPath).join(' then ')).join('; ');
      return new Evaluation(this.opts, this.helm, this.o, { args, note: `if Argo CD passes ${note}` });
    });
  }

  /** The user's values for one content of the invisible layers. */
  private fold(hidden: JsonObject): Fold {
    // Only `--set` arguments write into the tree (strvals sets keys in place); mergeMaps makes new
    // maps where two layers meet and shares the rest. Without arguments nothing is written, so the
    // layers need no copy (the folded tree is only read: coalescedAt copies what it coalesces).
    const copy = this.args.length > 0 ? deepCopy : <T>(v: T): T => v;
    let tree: JsonObject = copy(hidden);
    for (const file of this.o.valueFileContents ?? []) tree = mergeMaps(tree, copy(file));
    if (this.extra) tree = mergeMaps(tree, copy(this.extra.tree));
    for (const arg of this.args) {
      try {
        applyArg(arg, tree, this.o.version);
      } catch (err) {
        // An argument whose failure depends on Go's map order: the keys it touches are unknown anyway.
        if (this.ambiguous.some((a) => a.args.has(arg))) continue;
        return { ok: false, error: strvalsError(arg, err) };
      }
    }
    // `a[0].b[0]…` nests without Helm's name-level bound; nothing below walks deeper than the limit.
    if (this.args.length > 0 && depthExceeds(tree, this.o.limits.depth)) {
      return { ok: false, error: { fieldPath: `${this.opts.sourcePath}.helm.parameters`, certain: true, message: `${this.opts.sourcePath}.helm.parameters nest deeper than ${this.o.limits.depth} levels; flatten them` } };
    }
    return { ok: true, tree };
  }

  private argTree(arg: SetArg): JsonObject | null {
    if (!this.argTrees.has(arg)) {
      const t: JsonObject = {};
      try {
        applyArg(arg, t, this.o.version);
        this.argTrees.set(arg, t);
      } catch {
        this.argTrees.set(arg, null);
      }
    }
    return this.argTrees.get(arg) ?? null;
  }

  /**
   * Top-level keys one argument writes, parsed on its own (none if it fails whatever comes before).
   * A plain name (letters, digits, `_`, `-`, then `.`, `[` or `=`) with a value that cannot open a
   * `{…}` list writes exactly its first name segment: no need to parse it (50,000 parameters happen).
   */
  private keysOf(arg: SetArg): string[] {
    const plain = /^([A-Za-z0-9_-]+)[.[=]/.exec(arg.arg);
    if (plain && !arg.arg.slice(arg.name.length + 1).startsWith('{') && /^[A-Za-z0-9_.[\]-]*$/.test(arg.name)) return [plain[1] as string];
    const t = this.argTree(arg);
    return t ? Object.keys(t) : [];
  }

  /** Indexes of the arguments that write each top-level key, built once (50,000 parameters happen). */
  private argsByKey: Map<string, number[]> | null = null;

  /** The last visible layer whose own content reaches `path` (the key, a parent, or a child). */
  private origin(path: readonly Segment[]): ValueOrigin | null {
    if (!this.argsByKey) {
      this.argsByKey = new Map();
      this.args.forEach((arg, i) => {
        for (const k of this.keysOf(arg)) {
          const list = this.argsByKey?.get(k) ?? [];
          list.push(i);
          this.argsByKey?.set(k, list);
        }
      });
    }
    const candidates = typeof path[0] === 'string' ? (this.argsByKey.get(path[0]) ?? []) : [];
    for (let j = candidates.length - 1; j >= 0; j--) {
      const arg = this.args[candidates[j] as number] as SetArg;
      const t = this.argTree(arg);
      if (t && reaches(t, path)) return { layer: arg.flag, fieldPath: `${arg.fieldPath}` };
    }
    if (this.extra && reaches(this.extra.tree, path)) {
      return { layer: this.extra.layer, fieldPath: `${this.extra.fieldPath}.${pathString(path)}` };
    }
    return null;
  }

  tree(): JsonObject {
    return stripMarks(this.final) as JsonObject;
  }

  keysAt(path: readonly Segment[]): string[] {
    const hit = walk(this.final, path);
    return hit.found && isTable(hit.value) ? Object.keys(hit.value) : [];
  }

  unknowns(): Array<{ key: string; why: string }> {
    const out: Array<{ key: string; why: string }> = [];
    if (this.hiddenWhy) out.push({ key: '*', why: this.hiddenWhy });
    for (const a of this.ambiguous) for (const k of a.keys) out.push({ key: k, why: a.why });
    for (const path of markedPaths(this.final)) {
      const found = this.get(path);
      out.push({ key: pathString(path), why: found.state === 'unknown' ? found.why : 'only known at sync time' });
    }
    return out;
  }

  private memos: Map<symbol, unknown> | null = null;

  memo<T>(key: symbol, make: () => T): T {
    this.memos ??= new Map();
    if (this.memos.has(key)) return this.memos.get(key) as T;
    const value = make();
    this.memos.set(key, value);
    return value;
  }

  present(path: readonly Segment[]): boolean {
    const hit = walk(this.final, path);
    return hit.found && hit.value !== null;
  }

  get(path: readonly Segment[]): Lookup {
    let node = this.cache;
    for (let i = 0; i < path.length; i++) {
      const seg = path[i] as Segment;
      node.next ??= new Map();
      let next = node.next.get(seg);
      if (!next) node.next.set(seg, (next = {}));
      node = next;
    }
    return (node.found ??= this.lookup(path));
  }

  /** Where a key nobody visible sets comes from: the same for every such key, so made once. */
  private unsetOrigin: ValueOrigin | null = null;

  private lookup(path: readonly Segment[]): Lookup {
    const origin = this.origin(path) ?? (this.unsetOrigin ??= { layer: 'chart', fieldPath: this.extra?.fieldPath ?? `${this.opts.sourcePath}.helm` });
    const top = typeof path[0] === 'string' ? path[0] : '';
    for (const amb of this.ambiguous) {
      if (amb.keys.has(top)) return { state: 'unknown', origin: { layer: '--set', fieldPath: amb.fieldPath }, why: amb.why };
    }
    const hit = walk(this.final, path);
    if (hit.found && containsMark(hit.value)) {
      const arg = this.args.find((a) => a.flag === '--set-file' && (this.argTree(a) ? reaches(this.argTree(a) as JsonObject, path) : false));
      return arg
        ? { state: 'unknown', origin: { layer: '--set-file', fieldPath: arg.fieldPath }, why: `${arg.fieldPath} sets ${arg.name} from a file cilium-guard cannot read` }
        : { state: 'unknown', origin, why: `${origin.fieldPath} uses a value only known at sync time` };
    }
    if (this.hiddenWhy && this.hiddenMayDecide(path)) {
      return { state: 'unknown', origin: { layer: this.o.hidden ? 'hidden' : 'valueFiles', fieldPath: origin.fieldPath }, why: this.hiddenWhy };
    }
    if (hit.found && hit.value !== null) return { state: 'set', value: hit.value, origin };
    const why = hit.found
      ? `${origin.fieldPath} is null, which deletes ${pathString(path)}`
      : (parentNotTable(this.final, path) ?? `${pathString(path)} is not set, so the chart default applies`);
    if (this.o.chartDefaults) {
      const d = coalescedAt(this.o.chartDefaults, this.final, path, this.o.version);
      if (d.found && d.value !== null) return { state: 'default', origin: { layer: 'chart', fieldPath: origin.fieldPath }, why, value: d.value };
    }
    return { state: 'default', origin, why };
  }

  /** Could some content of the invisible layers change the value at `path`? */
  private hiddenMayDecide(path: readonly Segment[]): boolean {
    if (this.args.length > MAX_EXPLORED_ARGS) return true;
    // A scalar, a list (longer than any index a visible --set is likely to fill) and a mapping.
    const probes: unknown[] = [MARK, Array.from({ length: 65 }, () => MARK), { [MARK]: MARK }];
    for (const probe of probes) {
      const folded = this.fold(treeWith(path, probe));
      // A content that makes Helm fail renders nothing, so it changes nothing.
      if (folded.ok && containsMark(walk(folded.tree, path).value)) return true;
    }
    return false;
  }
}

/** A copy without the leaves that hold a marker. */
function stripMarks(v: unknown): unknown {
  if (Array.isArray(v)) return v.filter((x) => !(typeof x === 'string' && x.includes(MARK))).map(stripMarks);
  if (isTable(v)) {
    const out: JsonObject = {};
    for (const k of Object.keys(v)) {
      const x = v[k];
      if (typeof x === 'string' && x.includes(MARK)) continue;
      Object.defineProperty(out, k, { value: stripMarks(x), enumerable: true, writable: true, configurable: true });
    }
    return out;
  }
  return v;
}

function markedPaths(v: unknown, prefix: Segment[] = [], out: Segment[][] = []): Segment[][] {
  if (typeof v === 'string') {
    if (v.includes(MARK)) out.push(prefix);
  } else if (Array.isArray(v)) v.forEach((x, i) => markedPaths(x, [...prefix, i], out));
  else if (isTable(v)) for (const k of Object.keys(v)) markedPaths(v[k], [...prefix, k], out);
  return out;
}

/**
 * Whether `tree` has content at `path`: the key itself, or a parent that is not a mapping (which
 * replaces whatever lies below it). One walk down the path.
 */
function reaches(tree: JsonObject, path: readonly Segment[]): boolean {
  let node: unknown = tree;
  for (let i = 0; i < path.length; i++) {
    node = step(node, path[i] as Segment);
    if (node === NONE) return false;
    if (i < path.length - 1 && (node === null || typeof node !== 'object')) return true;
  }
  return true;
}

/** Why `path` is not set when a parent on it is not a mapping, or null. One walk down the path. */
function parentNotTable(tree: JsonObject, path: readonly Segment[]): string | null {
  let node: unknown = tree;
  for (let d = 1; d < path.length; d++) {
    node = step(node, path[d - 1] as Segment);
    if (node === NONE) return null;
    if (node === null || typeof node !== 'object') return `${pathString(path.slice(0, d))} is not a mapping, so ${pathString(path)} is not set`;
  }
  return null;
}

/** What step() finds where nothing is. */
const NONE: unique symbol = Symbol('none');

/** One step of walk(): the child at `seg`, or NONE. */
function step(node: unknown, seg: Segment): unknown {
  if (typeof seg === 'number') return Array.isArray(node) && seg < node.length ? node[seg] : NONE;
  return isTable(node) && Object.prototype.hasOwnProperty.call(node, seg) ? node[seg] : NONE;
}

/** The effective values of one Helm source of an Application. */
export function effectiveValues(app: JsonObject, source: JsonObject, sourcePath: string, o: EffectiveOptions, ctx?: AppContext): EffectiveValues {
  const context = ctx ?? appContext(app, o.controlPlaneNamespaces ?? []);
  const opts = templateOpts(source, sourcePath, context, `${MARK}revision`);
  const helm = isTable(source.helm) ? source.helm : {};
  return new Evaluation(opts, helm, o);
}

export { SYNC_TIME_VARS };
