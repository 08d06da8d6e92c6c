// The subset of gobwas/glob that Argo CD's util/glob uses, compiled without separators: `*` matches
// any run of characters (dots included), `?` one character, `[abc]`, `[!a-z]`, `{a,b}`, `\` escapes.
// A pattern that does not compile matches nothing, as in Argo CD.

function escapeRegex(c: string): string {
  return /[\\^$.*+?()[\]{}|/]/.test(c) ? `\\${c}` : c;
}

function compile(pattern: string): string | null {
  let out = '';
  let braces = 0;
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i] as string;
    if (c === '\\') {
      if (i + 1 >= pattern.length) return null;
      out += escapeRegex(pattern[++i] as string);
    } else if (c === '*') {
      out += '.*';
    } else if (c === '?') {
      out += '.';
    } else if (c === '[') {
      const close = pattern.indexOf(']', i + 1);
      if (close < 0) return null;
      let body = pattern.slice(i + 1, close);
      const negate = body.startsWith('!');
      if (negate) body = body.slice(1);
      if (body === '') return null;
      out += `[${negate ? '^' : ''}${body.replace(/[\\\]^]/g, (m) => `\\${m}`)}]`;
      i = close;
    } else if (c === '{') {
      braces++;
      out += '(?:';
    } else if (c === '}' && braces > 0) {
      braces--;
      out += ')';
    } else if (c === ',' && braces > 0) {
      out += '|';
    } else {
      out += escapeRegex(c);
    }
  }
  return braces === 0 ? out : null;
}

export function globMatch(pattern: string, text: string): boolean {
  const source = compile(pattern);
  if (source === null) return false;
  try {
    return new RegExp(`^${source}$`, 's').test(text);
  } catch {
    return false;
  }
}

/** True for a pattern that matches every string (what "all clusters" means in practice). */
export function matchesEverything(pattern: string): boolean {
  return /^\*+$/.test(pattern);
}
