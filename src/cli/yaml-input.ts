// Reading the YAML the offline commands are given: bounded file size, multi-document, YAML 1.1
// (as Kubernetes and Helm read it), alias-bomb limit, and a clear message per broken document.
import { readFile, readdir, stat } from 'node:fs/promises';
import path from 'node:path';
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

/** Reads a whole stream (standard input) as UTF-8, refusing more than MAX_FILE_BYTES. */
export async function readYamlStream(stream: AsyncIterable<Buffer | string>, name: string, maxAliasCount: number): Promise<YamlInput> {
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of stream) {
      const buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      size += buf.length;
      if (size > MAX_FILE_BYTES) return { documents: [], errors: [{ source: name, message: `cannot read: larger than ${MAX_FILE_BYTES} bytes` }] };
      chunks.push(buf);
    }
  } catch (err) {
    return { documents: [], errors: [{ source: name, message: `cannot read: ${(err as Error).message}` }] };
  }
  return parseDocuments(Buffer.concat(chunks).toString('utf8'), name, maxAliasCount);
}

export const MANIFEST_EXTENSIONS = ['.yaml', '.yml', '.json'];

/**
 * The manifest files under a directory, walked recursively in name order, as kubeconform and
 * `kyverno apply` take a directory: files ending in .yaml, .yml or .json. Directories whose name
 * starts with a dot (.git, .github) are skipped, and symbolic links to directories are not followed
 * (no loops); a symbolic link to a file is read.
 */
export async function manifestFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string): Promise<void> => {
    const entries = await readdir(d, { withFileTypes: true });
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const e of entries) {
      const full = path.join(d, e.name);
      if (e.isDirectory()) {
        if (!e.name.startsWith('.')) await walk(full);
      } else if ((e.isFile() || e.isSymbolicLink()) && MANIFEST_EXTENSIONS.some((x) => e.name.toLowerCase().endsWith(x))) {
        if (e.isSymbolicLink() && !(await stat(full).then((i) => i.isFile(), () => false))) continue;
        out.push(full);
      }
    }
  };
  await walk(dir);
  return out;
}
