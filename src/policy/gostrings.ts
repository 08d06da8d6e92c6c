// Go's string functions where the component cilium-guard emulates is written in Go and JavaScript's
// look-alike answers differently.

/**
 * Go's unicode.IsSpace: '\t', '\n', '\v', '\f', '\r', ' ', U+0085 (NEL), U+00A0 (NBSP), and above
 * Latin-1 the Unicode White_Space property (U+1680, U+2000-U+200A, U+2028, U+2029, U+202F, U+205F,
 * U+3000). Not U+FEFF (a byte-order mark), not U+180E, not U+200B: JavaScript's trim strips the
 * first and keeps U+0085, so it cannot stand in for this.
 */
export function goIsSpace(cp: number): boolean {
  if (cp <= 0xff) return (cp >= 0x09 && cp <= 0x0d) || cp === 0x20 || cp === 0x85 || cp === 0xa0;
  return cp === 0x1680 || (cp >= 0x2000 && cp <= 0x200a) || cp === 0x2028 || cp === 0x2029 || cp === 0x202f || cp === 0x205f || cp === 0x3000;
}

/**
 * Go's strings.TrimSpace / bytes.TrimSpace on the UTF-8 form of `s`: leading and trailing code
 * points for which unicode.IsSpace holds are removed. Every Go space is in the BMP and no surrogate
 * is one, so walking UTF-16 units gives the same answer as walking code points. (bytes.TrimSpace on
 * invalid UTF-8 is not reachable here: the values arrive as JSON strings.)
 */
export function goTrimSpace(s: string): string {
  let start = 0;
  let end = s.length;
  while (start < end && goIsSpace(s.charCodeAt(start))) start++;
  while (end > start && goIsSpace(s.charCodeAt(end - 1))) end--;
  return start === 0 && end === s.length ? s : s.slice(start, end);
}

/**
 * Go's strings.Fields: the runs of characters between unicode.IsSpace ones, as viper's
 * GetStringSlice (cast.ToStringSlice) splits a string option such as cluster-pool-ipv4-cidr.
 * JavaScript's `split(/\s+/)` splits on U+FEFF and not on U+0085, the other way round.
 */
export function goFields(s: string): string[] {
  const out: string[] = [];
  let start = -1;
  for (let i = 0; i < s.length; i++) {
    if (goIsSpace(s.charCodeAt(i))) {
      if (start >= 0) out.push(s.slice(start, i));
      start = -1;
    } else if (start < 0) start = i;
  }
  if (start >= 0) out.push(s.slice(start));
  return out;
}
