import { LifelineError } from '../../errors.js';

/**
 * Which compression, at which level: `none`, `gzip[:1-9]`, `lz4[:1-12]`, `zstd[:1-19]`. Pure and
 * light (no process, no zod): the wal-push fast path parses its --compress with it too.
 */
export const compressionAlgorithms = ['none', 'gzip', 'lz4', 'zstd'] as const;
export type Compression = (typeof compressionAlgorithms)[number];

export interface CompressionChoice {
  algorithm: Compression;
  level?: number;
}

/** Levels each stock tool accepts, and lifeline's default (chosen by measurement: bench/). */
export const COMPRESSION_LEVELS: Record<Compression, { min: number; max: number; default: number } | undefined> = {
  none: undefined,
  gzip: { min: 1, max: 9, default: 1 },
  lz4: { min: 1, max: 12, default: 1 },
  zstd: { min: 1, max: 19, default: 3 },
};

/** The file extension of each codec's standard stream (`gzip -dc`, `lz4 -dc`, `zstd -dc` read it). */
export const COMPRESSION_EXTENSIONS = { none: '', gzip: '.gz', lz4: '.lz4', zstd: '.zst' } as const satisfies Record<Compression, string>;
export type CompressionExtension = (typeof COMPRESSION_EXTENSIONS)[Compression];

/** The level to use: the given one (checked against the codec's range) or the codec's default. */
export function levelFor(algorithm: Compression, level?: number): number | undefined {
  const range = COMPRESSION_LEVELS[algorithm];
  if (!range) {
    if (level !== undefined) throw new LifelineError('USAGE', `Compression "none" takes no level (got ${level}).`, { hint: 'Use --compress none.' });
    return undefined;
  }
  if (level === undefined) return range.default;
  if (!Number.isInteger(level) || level < range.min || level > range.max) {
    throw new LifelineError('USAGE', `${algorithm} levels go from ${range.min} to ${range.max}, not ${level}.`, {
      hint: `e.g. --compress ${algorithm}:${range.default}`,
    });
  }
  return level;
}

/** Parses `zstd`, `zstd:3`, `gzip:6`, `lz4`, `none` into a choice with its level filled in. */
export function parseCompression(text: string): CompressionChoice {
  const match = /^([a-z0-9]+)(?::(\d+))?$/i.exec(text.trim());
  const algorithm = match?.[1].toLowerCase() as Compression | undefined;
  if (!match || !algorithm || !compressionAlgorithms.includes(algorithm)) {
    throw new LifelineError('USAGE', `Unknown compression "${text}".`, {
      hint: `Use one of ${compressionAlgorithms.join(', ')}, with an optional level: zstd:3, gzip:6, lz4:1.`,
    });
  }
  const level = levelFor(algorithm, match[2] === undefined ? undefined : Number(match[2]));
  return level === undefined ? { algorithm } : { algorithm, level };
}

export function formatCompression(choice: CompressionChoice): string {
  return choice.level === undefined ? choice.algorithm : `${choice.algorithm}:${choice.level}`;
}

/** The codec a stored name's extension says it uses (`data.dump.zst` → zstd); plain otherwise. */
export function compressionOfName(name: string): Compression {
  for (const algorithm of ['zstd', 'lz4', 'gzip'] as const) if (name.endsWith(COMPRESSION_EXTENSIONS[algorithm])) return algorithm;
  return 'none';
}
