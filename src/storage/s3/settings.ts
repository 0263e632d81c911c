import fs from 'node:fs';
import path from 'node:path';
import { LifelineError } from '../../errors.js';
import { redactText } from '../../redact.js';

/*
 * Storage settings (config `repository.mode`, `repository.group`, `repository.s3`), read without
 * conf or zod: wal-push/wal-fetch open a store once per WAL file and must stay light. The zod
 * schema in config/schema.ts validates the same keys for the full CLI; this reader checks the
 * types it relies on and nothing more.
 */

export type S3ChecksumMode = 'when_required' | 'when_supported';

export interface S3Settings {
  /** Custom endpoint (MinIO, R2, Supabase Storage, s3rver); else AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL. */
  endpoint?: string;
  /** Else AWS_REGION / AWS_DEFAULT_REGION / the profile's region; us-east-1 for a custom endpoint. */
  region?: string;
  /** Path-style addressing; default true whenever an endpoint is set, false otherwise. */
  forcePathStyle?: boolean;
  /** Multipart part size in MiB (5..5120, default 16). Objects up to one part are a single PUT. */
  partSizeMb?: number;
  /** Parts uploaded at once (default 4). */
  queueSize?: number;
  /** Server-side encryption asked for on every object. */
  sse?: 'AES256' | 'aws:kms';
  kmsKeyId?: string;
  /** The SDK's request/response checksum setting; default when_required with a custom endpoint, else when_supported. */
  checksum?: S3ChecksumMode;
  /** Object Lock retention set on every object written (the bucket must have Object Lock enabled). */
  objectLock?: { mode: 'governance' | 'compliance'; days: number };
  /** Attempts per request, including the first (SDK standard retry with exponential back-off; default 5). */
  maxAttempts?: number;
}

export interface StoreSettings {
  mode?: 'private' | 'shared-group';
  group?: string | number;
  s3?: S3Settings;
}

export interface S3Location {
  bucket: string;
  /** '' or ends with '/'. */
  prefix: string;
  /** Per-URL overrides from the query string (?region=..&endpoint=..). */
  overrides: Partial<S3Settings>;
}

/** `s3://bucket[/prefix][?region=..&endpoint=..&forcePathStyle=..]` */
export function parseS3Url(url: string): S3Location {
  const match = /^s3:\/\/([^/?#]*)([^?#]*)(\?[^#]*)?$/.exec(url);
  const bucket = match?.[1] ?? '';
  if (!match || !/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket)) {
    throw new LifelineError('USAGE', `Not a valid S3 repository URL: ${redactText(url)}`, {
      hint: 'Write s3://<bucket>/<prefix>; bucket names are 3-63 lowercase letters, digits, dots and hyphens.',
    });
  }
  const segments = (match[2] ?? '').split('/').filter((segment) => segment !== '');
  for (const segment of segments) {
    if (segment === '.' || segment === '..' || !/^[A-Za-z0-9._+=@,-]+$/.test(segment)) {
      throw new LifelineError('USAGE', `Unsupported prefix segment "${redactText(segment)}" in ${redactText(url)}`, {
        hint: 'Use letters, digits and . _ + = @ , - in the prefix.',
      });
    }
  }
  const overrides: Partial<S3Settings> = {};
  const query = new URLSearchParams(match[3]?.slice(1) ?? '');
  for (const [name, value] of query) {
    if (name === 'region') overrides.region = value;
    else if (name === 'endpoint') overrides.endpoint = value;
    else if (name === 'forcePathStyle') overrides.forcePathStyle = value !== 'false' && value !== '0';
    else {
      throw new LifelineError('USAGE', `Unknown option "${name}" in ${redactText(url)}`, { hint: 'S3 URLs take ?region=, ?endpoint= and ?forcePathStyle=.' });
    }
  }
  return { bucket, prefix: segments.length ? `${segments.join('/')}/` : '', overrides };
}

/** The config file's storage settings (conf's config.json under LIFELINE_HOME or XDG), {} when none. */
export function readStoreSettings(env: NodeJS.ProcessEnv = process.env): StoreSettings {
  const file = configFile(env);
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw invalid(file, `cannot read it: ${(error as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw invalid(file, `not JSON: ${(error as Error).message}`);
  }
  const repository = (json as { repository?: unknown } | null)?.repository;
  if (repository === undefined || repository === null) return {};
  return storeSettingsFrom(repository, file);
}

/** Checks the storage keys of a `repository` config block (types only; zod checks the rest). */
export function storeSettingsFrom(repository: unknown, where = 'config'): StoreSettings {
  if (typeof repository !== 'object' || repository === null) throw invalid(where, 'repository is not an object');
  const r = repository as Record<string, unknown>;
  const settings: StoreSettings = {};
  if (r.mode !== undefined) {
    if (r.mode !== 'private' && r.mode !== 'shared-group') throw invalid(where, `repository.mode must be private or shared-group, not ${JSON.stringify(r.mode)}`);
    settings.mode = r.mode;
  }
  if (r.group !== undefined) {
    if (typeof r.group !== 'string' && typeof r.group !== 'number') throw invalid(where, 'repository.group must be a group name or id');
    settings.group = r.group;
  }
  if (r.s3 !== undefined) {
    if (typeof r.s3 !== 'object' || r.s3 === null) throw invalid(where, 'repository.s3 is not an object');
    const s = r.s3 as Record<string, unknown>;
    const s3: S3Settings = {};
    const str = (name: string) => {
      if (s[name] === undefined) return undefined;
      if (typeof s[name] !== 'string') throw invalid(where, `repository.s3.${name} must be a string`);
      return s[name] as string;
    };
    const num = (name: string, min: number, max: number) => {
      if (s[name] === undefined) return undefined;
      const value = s[name];
      if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
        throw invalid(where, `repository.s3.${name} must be a whole number from ${min} to ${max}`);
      }
      return value;
    };
    s3.endpoint = str('endpoint');
    s3.region = str('region');
    if (s.forcePathStyle !== undefined) {
      if (typeof s.forcePathStyle !== 'boolean') throw invalid(where, 'repository.s3.forcePathStyle must be true or false');
      s3.forcePathStyle = s.forcePathStyle;
    }
    s3.partSizeMb = num('partSizeMb', 5, 5120);
    s3.queueSize = num('queueSize', 1, 64);
    s3.maxAttempts = num('maxAttempts', 1, 20);
    const sse = str('sse');
    if (sse !== undefined && sse !== 'AES256' && sse !== 'aws:kms') throw invalid(where, 'repository.s3.sse must be AES256 or aws:kms');
    s3.sse = sse as S3Settings['sse'];
    s3.kmsKeyId = str('kmsKeyId');
    const checksum = str('checksum');
    if (checksum !== undefined && checksum !== 'when_required' && checksum !== 'when_supported') {
      throw invalid(where, 'repository.s3.checksum must be when_required or when_supported');
    }
    s3.checksum = checksum as S3ChecksumMode | undefined;
    if (s.objectLock !== undefined) {
      const lock = s.objectLock as Record<string, unknown> | null;
      if (
        typeof lock !== 'object' ||
        lock === null ||
        (lock.mode !== 'governance' && lock.mode !== 'compliance') ||
        typeof lock.days !== 'number' ||
        !Number.isInteger(lock.days) ||
        lock.days < 1
      ) {
        throw invalid(where, 'repository.s3.objectLock must be {"mode": "governance"|"compliance", "days": <whole number of days>}');
      }
      s3.objectLock = { mode: lock.mode, days: lock.days };
    }
    settings.s3 = Object.fromEntries(Object.entries(s3).filter(([, value]) => value !== undefined)) as S3Settings;
  }
  return settings;
}

export interface ResolvedS3 {
  bucket: string;
  prefix: string;
  endpoint?: string;
  region: string | undefined;
  forcePathStyle: boolean;
  partSize: number;
  queueSize: number;
  sse?: 'AES256' | 'aws:kms';
  kmsKeyId?: string;
  checksum: S3ChecksumMode;
  objectLock?: { mode: 'governance' | 'compliance'; days: number };
  maxAttempts: number;
}

/**
 * URL overrides, then the config, then the SDK's environment variables for what the config leaves
 * open (AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL, AWS_REGION / AWS_DEFAULT_REGION).
 */
export function resolveS3(url: string, settings: S3Settings = {}, env: NodeJS.ProcessEnv = process.env): ResolvedS3 {
  const location = parseS3Url(url);
  const merged: S3Settings = { ...settings, ...location.overrides };
  const endpoint = merged.endpoint || env.AWS_ENDPOINT_URL_S3 || env.AWS_ENDPOINT_URL || undefined;
  if (endpoint !== undefined && !/^https?:\/\/[^/]+/i.test(endpoint)) {
    throw new LifelineError('CONFIG_INVALID', `The S3 endpoint "${redactText(endpoint)}" is not an http(s) URL`, {
      hint: 'Write it as https://host[:port] (repository.s3.endpoint, AWS_ENDPOINT_URL_S3 or ?endpoint=).',
    });
  }
  // Credentials in the endpoint would travel into logs, archive_command and restore_command.
  if (endpoint !== undefined && /^https?:\/\/[^/?#]*@/i.test(endpoint)) {
    throw new LifelineError('CONFIG_INVALID', `The S3 endpoint "${redactText(endpoint)}" carries credentials`, {
      hint: 'Give S3 credentials through the AWS credential chain (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, AWS_PROFILE), never in a URL.',
    });
  }
  const region = merged.region || env.AWS_REGION || env.AWS_DEFAULT_REGION || (endpoint ? 'us-east-1' : undefined);
  return {
    bucket: location.bucket,
    prefix: location.prefix,
    endpoint,
    region,
    forcePathStyle: merged.forcePathStyle ?? endpoint !== undefined,
    partSize: (merged.partSizeMb ?? 8) * 1024 * 1024,
    queueSize: merged.queueSize ?? 4,
    sse: merged.sse,
    kmsKeyId: merged.kmsKeyId,
    checksum: merged.checksum ?? (endpoint ? 'when_required' : 'when_supported'),
    objectLock: merged.objectLock,
    maxAttempts: merged.maxAttempts ?? 5,
  };
}

/** conf's config.json under LIFELINE_HOME or XDG (the same file the full CLI reads). */
export function configFile(env: NodeJS.ProcessEnv): string {
  if (env.LIFELINE_HOME) return path.join(path.resolve(env.LIFELINE_HOME), 'config', 'config.json');
  const base = env.XDG_CONFIG_HOME && path.isAbsolute(env.XDG_CONFIG_HOME) ? env.XDG_CONFIG_HOME : path.join(env.HOME ?? '/', '.config');
  return path.join(base, 'lifeline', 'config.json');
}

function invalid(where: string, why: string): LifelineError {
  return new LifelineError('CONFIG_INVALID', `Invalid storage settings in ${where}: ${why}`, {
    hint: 'Fix them with `lifeline config set repository.<key> <value>` or edit the file.',
  });
}
