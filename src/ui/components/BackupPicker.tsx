import { Box, Text } from 'ink';
import SelectInput from 'ink-select-input';
import React, { useMemo } from 'react';
import type { BackupEntry } from '../../storage/repository.js';
import { formatAge, formatBytes } from '../format.js';
import { useKeysActive } from '../key/KeypressContext.js';
import { colors } from '../theme.js';

/** Verified backups first (newest first), then the unverified ones (newest first). */
export function orderBackups(backups: BackupEntry[]): BackupEntry[] {
  const newest = (a: BackupEntry, b: BackupEntry) => b.finishedAt.localeCompare(a.finishedAt) || b.id.localeCompare(a.id);
  return [...backups.filter((b) => b.verified).sort(newest), ...backups.filter((b) => !b.verified).sort(newest)];
}

export function backupLine(backup: BackupEntry, now = Date.now()): string {
  return `${backup.id}  ${backup.kind}  ${formatAge(backup.finishedAt, now)}  ${formatBytes(backup.sizeBytes)}  ${backup.verified ? `verified (${backup.verifiedLevel})` : backup.verifiedLevel ? `only ${backup.verifiedLevel}` : 'NOT verified'}`;
}

/**
 * Choose a backup: the newest verified one is preselected (or the param's default, such as
 * latest-verified, listed first with the backup it means today).
 */
export function BackupPicker({
  backups,
  defaultRef,
  onSelect,
  isActive = true,
}: {
  backups: BackupEntry[];
  defaultRef?: string;
  onSelect(ref: string): void;
  isActive?: boolean;
}) {
  const keysActive = useKeysActive();
  const items = useMemo(() => {
    const ordered = orderBackups(backups);
    const list: Array<{ label: string; value: string }> = [];
    const newestVerified = ordered.find((b) => b.verified);
    if (defaultRef === 'latest-verified' || defaultRef === 'latest') {
      const meant = defaultRef === 'latest' ? [...backups].sort((a, b) => b.finishedAt.localeCompare(a.finishedAt))[0] : newestVerified;
      list.push({ label: `${defaultRef} (${meant ? meant.id : 'none yet'})`, value: defaultRef });
    }
    for (const backup of ordered) list.push({ label: backupLine(backup), value: backup.id });
    if (!list.length) list.push({ label: 'latest-verified (the repository holds no backups yet)', value: 'latest-verified' });
    return list;
  }, [backups, defaultRef]);
  return (
    <Box flexDirection="column">
      <SelectInput items={items} isFocused={isActive && keysActive} limit={12} onSelect={(item) => onSelect(item.value)} />
      {backups.some((b) => !b.verified) ? <Text color={colors.muted}>unverified backups are listed last</Text> : null}
    </Box>
  );
}
