// Reads the policy file named by --config (or CILIUM_GUARD_CONFIG); the defaults when none.
import { readFile } from 'node:fs/promises';
import { parse } from 'yaml';
import { resolveConfig, type ConfigResult } from '../policy/config.js';

export async function loadConfig(file: string | undefined): Promise<ConfigResult> {
  if (!file) return resolveConfig(undefined);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    return { ok: false, errors: [`${file}: cannot read: ${(err as Error).message}`] };
  }
  let parsed: unknown;
  try {
    parsed = parse(text, { maxAliasCount: 50 });
  } catch (err) {
    return { ok: false, errors: [`${file}: not valid YAML: ${(err as Error).message.split('\n')[0]}`] };
  }
  const result = resolveConfig(parsed);
  return result.ok ? result : { ok: false, errors: result.errors.map((e) => `${file}: ${e}`) };
}
