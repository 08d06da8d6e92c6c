// Reading the YAML the offline commands are given: bounded file size, multi-document, YAML 1.1
// (as Kubernetes and Helm read it), alias-bomb limit, and a clear message per broken document.
import { readFile, stat } from 'node:fs/promises';
import { parseAllDocuments } from 'yaml';

export const MAX_FILE_BYTES = 16 * 1024 * 1024;

export interface YamlDocument {
  /** `FILE#N`, N counting documents from 1. */
  source: string;
  value: unknown;
}

export interface YamlInput {
  documents: YamlDocument[];
  errors: Array<{ source: string; message: string }>;
}

/** Every non-empty document of a YAML stream; broken ones become errors, not exceptions. */
export function parseDocuments(text: string, name: string, maxAliasCount: number): YamlInput {
  const out: YamlInput = { documents: [], errors: [] };
  const docs = parseAllDocuments(text, { version: '1.1', uniqueKeys: false, prettyErrors: false });
  const list = Array.isArray(docs) ? docs : [docs];
  list.forEach((doc, i) => {
    const source = `${name}#${i + 1}`;
    if (doc.errors.length > 0) {
      out.errors.push({ source, message: `not valid YAML: ${doc.errors[0]?.message.split('\n')[0] ?? ''}` });
      return;
    }
    try {
      const value: unknown = doc.toJS({ maxAliasCount });
      if (value !== null && value !== undefined) out.documents.push({ source, value });
    } catch (err) {
      out.errors.push({ source, message: (err as Error).message.split('\n')[0] ?? 'unreadable' });
    }
  });
  return out;
}

export async function readYamlFile(file: string, maxAliasCount: number): Promise<YamlInput> {
  let text: string;
  try {
    const info = await stat(file);
    if (!info.isFile()) throw new Error('not a regular file');
    if (info.size > MAX_FILE_BYTES) throw new Error(`larger than ${MAX_FILE_BYTES} bytes`);
    text = await readFile(file, 'utf8');
  } catch (err) {
    return { documents: [], errors: [{ source: file, message: `cannot read: ${(err as Error).message}` }] };
  }
  return parseDocuments(text, file, maxAliasCount);
}
