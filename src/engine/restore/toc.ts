import type { PgTool } from '../../postgres/tools.js';
import type { Manifest } from '../../storage/manifest.js';
import type { Repository } from '../../storage/repository.js';
import { pgRestoreFromBackup, pgRestoreFromPath } from './pg-restore.js';
import { dumpFormat, withStagedToc } from './stage.js';

/**
 * One line of `pg_restore --list`: `<id>; <tableoid> <oid> <desc> <namespace> <tag> <owner>`.
 * Handing pg_restore a subset of these lines (`--use-list`) restores only those entries, in the
 * order given (for data out of dump order the input must be seekable).
 */
export interface TocEntry {
  id: number;
  /** The line as pg_restore printed it, for the list file. */
  line: string;
  desc: string;
  /** null for objects outside a schema (schemas, extensions, their comments and ACLs). */
  namespace: string | null;
  /** The object's name; "table name" for triggers, policies and constraints; "KIND name" for comments and ACLs. */
  tag: string;
  owner: string;
}

/** pg_dump's entry types, longest first so that "TABLE DATA" wins over "TABLE". */
const DESCS = [
  'PUBLICATION TABLES IN SCHEMA', 'TEXT SEARCH CONFIGURATION', 'TEXT SEARCH DICTIONARY', 'MATERIALIZED VIEW DATA', 'FOREIGN DATA WRAPPER',
  'TEXT SEARCH TEMPLATE', 'DATABASE PROPERTIES', 'PROCEDURAL LANGUAGE', 'TEXT SEARCH PARSER', 'SUBSCRIPTION TABLE', 'SEQUENCE OWNED BY',
  'PUBLICATION TABLE', 'MATERIALIZED VIEW', 'CHECK CONSTRAINT', 'OPERATOR FAMILY', 'STATISTICS DATA', 'OPERATOR CLASS', 'FOREIGN SERVER',
  'FOREIGN TABLE', 'TABLE DATA', 'EVENT TRIGGER', 'ACCESS METHOD', 'BLOB METADATA', 'FK CONSTRAINT', 'SECURITY LABEL', 'SEQUENCE SET', 'LARGE OBJECT',
  'USER MAPPING', 'ROW SECURITY', 'INDEX ATTACH', 'TABLE ATTACH', 'SUBSCRIPTION', 'DEFAULT ACL', 'PUBLICATION', 'STDSTRINGS', 'SEARCHPATH',
  'STATISTICS', 'SHELL TYPE', 'CONVERSION', 'CONSTRAINT', 'COLLATION', 'EXTENSION', 'AGGREGATE', 'PROCEDURE', 'TRANSFORM', 'SEQUENCE',
  'FUNCTION', 'OPERATOR', 'DATABASE', 'ENCODING', 'TRIGGER', 'COMMENT', 'DEFAULT', 'DOMAIN', 'SCHEMA', 'SERVER', 'POLICY', 'TABLE', 'BLOBS',
  'INDEX', 'BLOB', 'CAST', 'RULE', 'TYPE', 'VIEW', 'ACL',
];

/** Entries restored in pg_restore's data section. */
export const DATA_DESCS = new Set(['TABLE DATA', 'SEQUENCE SET', 'BLOBS', 'BLOB', 'LARGE OBJECT']);

export function parseToc(text: string): TocEntry[] {
  const entries: TocEntry[] = [];
  for (const line of text.split('\n')) {
    const head = /^(\d+); \d+ \d+ (.*)$/.exec(line);
    if (!head) continue;
    const desc = DESCS.find((d) => head[2].startsWith(`${d} `));
    if (!desc) continue;
    const rest = head[2].slice(desc.length + 1);
    const space = rest.indexOf(' ');
    const namespace = rest.slice(0, space);
    const tagOwner = rest.slice(space + 1);
    const last = tagOwner.lastIndexOf(' ');
    entries.push({
      id: Number(head[1]),
      line,
      desc,
      namespace: namespace === '-' ? null : namespace,
      tag: last < 0 ? tagOwner : tagOwner.slice(0, last),
      owner: last < 0 ? '' : tagOwner.slice(last + 1),
    });
  }
  return entries;
}

/**
 * The archive's table of contents. A custom-format dump is streamed from the repository and
 * pg_restore stops reading once it has the TOC, which sits at its start; of a directory-format
 * dump only toc.dat is fetched.
 */
export async function readToc(options: { repo: Repository; manifest: Manifest; pgRestore: PgTool; stagingDir: string; signal?: AbortSignal }): Promise<TocEntry[]> {
  let text = '';
  const onStdout = (chunk: string) => (text += chunk);
  if (dumpFormat(options.manifest) === 'directory') {
    await withStagedToc(options, (dir) => pgRestoreFromPath({ ...options, args: ['--list'], path: dir, jobs: 1, onStdout }));
  } else {
    await pgRestoreFromBackup({ ...options, args: ['--list'], onStdout });
  }
  return parseToc(text);
}

/** Entries belonging to an extension by name: its EXTENSION entry and the comment on it. */
export function isExtensionEntry(entry: TocEntry, names: Set<string>): boolean {
  if (entry.desc === 'EXTENSION') return names.has(entry.tag);
  return (entry.desc === 'COMMENT' || entry.desc === 'ACL') && entry.namespace === null && entry.tag.startsWith('EXTENSION ') && names.has(entry.tag.slice(10));
}
