import { PRESETS, type DumpScope, type PlatformPreset, type PresetName } from '../../config/presets.js';
import type { Manifest } from '../../storage/manifest.js';
import type { RecordedExtension } from '../backup/extensions.js';

/** What a logical backup's manifest recorded about its scope and platform (manifest.extra). */
export interface RecordedFacts {
  scope?: DumpScope;
  preset?: PlatformPreset & { name: PresetName };
  /** Undefined for backups taken before lifeline recorded extensions. */
  extensions?: RecordedExtension[];
}

export function recordedFacts(manifest: Manifest): RecordedFacts {
  const extra = manifest.extra ?? {};
  const name = typeof extra.preset === 'string' && extra.preset in PRESETS ? (extra.preset as PresetName) : undefined;
  return {
    scope: extra.scope as DumpScope | undefined,
    preset: name ? { ...PRESETS[name], name } : undefined,
    extensions: Array.isArray(extra.extensions) ? (extra.extensions as RecordedExtension[]) : undefined,
  };
}
