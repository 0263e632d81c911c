import { createHmac, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { LifelineError } from '../../errors.js';
import { configFile } from '../s3/settings.js';

/*
 * Repository encryption keys: 256 bits written as 64 hexadecimal characters. The CURRENT key
 * encrypts every new object; older keys (the keyring) only decrypt. Loaded with node:fs and
 * node:crypto alone: wal-push and wal-fetch read them once per WAL file.
 *
 * Where keys come from:
 *   current: LIFELINE_ENCRYPTION_KEY, else the file the config's encryptionKeyFile names
 *   older:   the file the config's encryptionKeyringFile names, and every file in
 *            LIFELINE_KEYRING (a ':'-separated list)
 *   (wal-push/wal-fetch given --key-file / --keyring read only those files: cli/commands/wal.ts)
 * A key file holds one key; a keyring file one key a line; blank lines and # comments are skipped.
 */

export interface EncryptionKey {
  /** 16 hex characters that name the key without revealing it (keyFingerprint). */
  fingerprint: string;
  bytes: Buffer;
  /** Where it was read from ("LIFELINE_ENCRYPTION_KEY", "/etc/lifeline/key"), for messages. */
  source: string;
}

export interface Keyring {
  /** The key new objects are encrypted with; undefined: objects are stored unencrypted. */
  current?: EncryptionKey;
  /** Every key that may decrypt, the current one first. */
  keys: EncryptionKey[];
}

export const EMPTY_KEYRING: Keyring = { keys: [] };

export interface KeySettings {
  /** config encryptionKeyFile */
  keyFile?: string;
  /** config encryptionKeyringFile */
  keyringFile?: string;
}

const KEY_PATTERN = /^[0-9a-fA-F]{64}$/;

/** A short, non-reversible name for a key: HMAC-SHA256 of a fixed label under the key, 16 hex characters. */
export function keyFingerprint(bytes: Buffer): string {
  return createHmac('sha256', bytes).update('lifeline key fingerprint v1').digest('hex').slice(0, 16);
}

/** A fresh random key as 64 hex characters (`lifeline keygen`). */
export function generateKey(): string {
  return randomBytes(32).toString('hex');
}

export function parseKey(text: string, source: string): EncryptionKey {
  const hex = text.trim();
  if (!KEY_PATTERN.test(hex)) {
    throw new LifelineError('CONFIG_INVALID', `The encryption key from ${source} is not 64 hexadecimal characters`, {
      hint: 'A key is 256 bits written as 64 hex characters; `lifeline keygen` prints a new one.',
    });
  }
  const bytes = Buffer.from(hex, 'hex');
  return { fingerprint: keyFingerprint(bytes), bytes, source };
}

/**
 * The keyring from the environment and the config's key settings. Throws CONFIG_INVALID for a
 * malformed key or a key file that cannot be read: a configured key that silently went missing
 * would mean unencrypted writes.
 */
export function loadKeyring(options: { env?: NodeJS.ProcessEnv; settings?: KeySettings } = {}): Keyring {
  const env = options.env ?? process.env;
  const settings = options.settings ?? readKeySettings(env);
  let current: EncryptionKey | undefined;
  if (env.LIFELINE_ENCRYPTION_KEY) {
    current = parseKey(env.LIFELINE_ENCRYPTION_KEY, 'LIFELINE_ENCRYPTION_KEY');
  } else if (settings.keyFile) {
    const keys = readKeyFile(settings.keyFile);
    if (keys.length !== 1) throw badFile(settings.keyFile, `holds ${keys.length} keys; a key file holds exactly one`);
    current = keys[0];
  }
  const older: EncryptionKey[] = [];
  const keyringFiles = [...(settings.keyringFile ? [settings.keyringFile] : []), ...(env.LIFELINE_KEYRING ?? '').split(':').filter((file) => file !== '')];
  for (const file of keyringFiles) {
    older.push(...readKeyFile(file));
  }
  const keys: EncryptionKey[] = [];
  for (const key of [...(current ? [current] : []), ...older]) {
    if (!keys.some((k) => k.fingerprint === key.fingerprint)) keys.push(key);
  }
  return { current, keys };
}

/** The keys in a key or keyring file: one per line, blank lines and # comments skipped. */
export function readKeyFile(file: string): EncryptionKey[] {
  if (!path.isAbsolute(file)) throw badFile(file, 'is not an absolute path');
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    throw badFile(file, `cannot be read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
  const lines = text.split('\n').map((line, index) => ({ text: line.replace(/#.*$/, '').trim(), number: index + 1 }));
  const keys = lines.filter((line) => line.text !== '');
  return keys.map((line) => parseKey(line.text, keys.length === 1 ? file : `${file} line ${line.number}`));
}

/** The text of a keyring file holding `keys` (one a line, with their fingerprints as comments). */
export function formatKeyring(keys: EncryptionKey[]): string {
  return keys.map((key) => `${key.bytes.toString('hex')}  # ${key.fingerprint}\n`).join('');
}

/** The config file's encryptionKeyFile / encryptionKeyringFile, read as plain JSON (no conf, no zod). */
export function readKeySettings(env: NodeJS.ProcessEnv = process.env): KeySettings {
  const file = configFile(env);
  let json: unknown;
  try {
    json = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (error) {
    // No config, or one this OS user cannot read (wal-push runs as the server's user): the
    // environment and the command's flags still apply.
    if (error instanceof SyntaxError) {
      throw new LifelineError('CONFIG_INVALID', `${file} is not valid JSON: ${error.message}`, { hint: 'Fix the file.' });
    }
    return {};
  }
  const config = (json ?? {}) as Record<string, unknown>;
  const pick = (name: string) => {
    const value = config[name];
    if (value === undefined || value === null) return undefined;
    if (typeof value !== 'string' || !path.isAbsolute(value)) {
      throw new LifelineError('CONFIG_INVALID', `${name} in ${file} must be an absolute path`, { hint: `lifeline config set ${name} /path/to/file` });
    }
    return value;
  };
  return { keyFile: pick('encryptionKeyFile'), keyringFile: pick('encryptionKeyringFile') };
}

function badFile(file: string, why: string): LifelineError {
  return new LifelineError('CONFIG_INVALID', `The encryption key file ${file} ${why}`, {
    hint: 'Key files hold 64 hex characters a line (`lifeline keygen --out <file>` writes one), readable by the user lifeline runs as.',
  });
}

/**
 * No loaded key decrypts `label` (encrypted with key `fingerprint`): says which key is needed,
 * which keys were loaded and where keys are read from.
 */
export function keyNotLoaded(label: string, fingerprint: string, keyring: Keyring): LifelineError {
  const where = 'LIFELINE_ENCRYPTION_KEY or encryptionKeyFile (the current key), encryptionKeyringFile or LIFELINE_KEYRING (older keys, one a line)';
  if (keyring.keys.length === 0) {
    return new LifelineError('KEY_MISSING', `${label} is encrypted with key ${fingerprint}, and no encryption key is set`, {
      hint: `Provide that key through ${where}.`,
    });
  }
  const loaded = keyring.keys.map((key) => `${key.source} is ${key.fingerprint}`).join(', ');
  return new LifelineError('KEY_WRONG', `${label} was encrypted with key ${fingerprint}; ${loaded}`, {
    hint: `Add the old key (fingerprint ${fingerprint}) to the keyring: a file named by encryptionKeyringFile or LIFELINE_KEYRING, one 64-hex key a line. Keys are read from ${where}.`,
  });
}
