import { Box, Text } from 'ink';
import SelectInput from 'ink-select-input';
import React, { useState } from 'react';
import { orderBackups } from '../components/BackupPicker.js';
import { KeyHints } from '../components/KeyHints.js';
import { formatAge, formatBytes, formatTime, truncate } from '../format.js';
import { useAsync } from '../hooks/useAsync.js';
import { useTerminalSize } from '../hooks/useTerminalSize.js';
import { commandFor } from '../key/keyBindings.js';
import { PRIORITY, useKeypress } from '../key/KeypressContext.js';
import type { BackupEntry } from '../../storage/repository.js';
import type { TuiServices } from '../services.js';
import { colors } from '../theme.js';

/** Backups newest first with their verification state; enter opens one. */
export function BackupsScreen({ services, onBack }: { services: TuiServices; onBack(): void }) {
  const listing = useAsync(() => services.listBackups(), []);
  const [open, setOpen] = useState<BackupEntry>();
  const { columns, rows } = useTerminalSize();
  useKeypress(
    (input, key) => {
      const command = commandFor(input, key, ['back', 'quit', 'interrupt']);
      if (!command) return false;
      if (open) setOpen(undefined);
      else onBack();
      return true;
    },
    { priority: PRIORITY.screen },
  );
  const backups = listing.status === 'ready' ? [...listing.value.backups].sort((a, b) => b.finishedAt.localeCompare(a.finishedAt) || b.id.localeCompare(a.id)) : [];
  return (
    <Box flexDirection="column" width={columns}>
      <Text bold color={colors.accent}>
        lifeline · backups
      </Text>
      {listing.status === 'loading' ? <Text dimColor>reading the repository…</Text> : null}
      {listing.status === 'error' ? <Text color={colors.danger}>Cannot list backups: {listing.message}</Text> : null}
      {listing.status === 'ready' && !backups.length ? <Text>No backups yet (take one with `lifeline backup` or the pre-deploy backup runbook).</Text> : null}
      {open ? (
        <BackupDetails backup={open} zone={services.timezone} width={columns - 2} />
      ) : backups.length ? (
        <Box flexDirection="column">
          <Text dimColor>{'   ID'.padEnd(34)}KIND     AGE            SIZE        VERIFIED</Text>
          <SelectInput
            items={backups.map((b) => ({
              label: `${b.id.padEnd(31)}${b.kind.padEnd(9)}${formatAge(b.finishedAt).padEnd(15)}${formatBytes(b.sizeBytes).padEnd(12)}${b.verified ? `✓ ${b.verifiedLevel}` : b.verifiedLevel ? `only ${b.verifiedLevel}` : '✗ no'}`,
              value: b.id,
            }))}
            limit={Math.max(5, rows - 8)}
            onSelect={(item) => setOpen(backups.find((b) => b.id === item.value))}
          />
          {orderBackups(backups)[0]?.verified ? <Text dimColor>latest-verified is {orderBackups(backups)[0].id}</Text> : <Text color={colors.warn}>⚠ no backup has passed verification yet</Text>}
        </Box>
      ) : null}
      {listing.status === 'ready'
        ? listing.value.problems.map((problem) => (
            <Text key={problem.key} color={colors.warn}>
              ⚠ {truncate(problem.message, columns - 4)}
            </Text>
          ))
        : null}
      <Box marginTop={1}>
        <KeyHints hints={open ? [['esc', 'back to the list']] : [['↑↓', 'move'], ['enter', 'details'], ['esc', 'home']]} />
      </Box>
    </Box>
  );
}

export function BackupDetails({ backup, zone, width }: { backup: BackupEntry; zone?: string; width: number }) {
  const field = (name: string, value: React.ReactNode) => (
    <Text key={name}>
      <Text color={colors.muted}>{name.padEnd(14)}</Text>
      {value}
    </Text>
  );
  return (
    <Box flexDirection="column">
      <Text bold>{backup.id}</Text>
      {field('kind', `${backup.kind} (${backup.label})`)}
      {backup.reason ? field('reason', backup.reason) : null}
      {field('database', backup.database ?? '-')}
      {field('taken', `${formatTime(backup.startedAt, zone)} → ${formatTime(backup.finishedAt, zone)}`)}
      {field('by', `${backup.operator} on ${backup.host}`)}
      {field('size', `${formatBytes(backup.sizeBytes)} in ${backup.objects.length} object(s), ${backup.compression.algorithm}`)}
      {field('verified', backup.verified ? `yes, up to ${backup.verifiedLevel}` : backup.verifiedLevel ? `only ${backup.verifiedLevel} (below the minimum)` : 'no')}
      <Box flexDirection="column" marginTop={1}>
        <Text bold>Verification history</Text>
        {backup.verifications.length ? (
          [...backup.verifications].reverse().map((record, index) => (
            <Text key={`${record.finishedAt}-${index}`} color={record.ok ? undefined : colors.danger}>
              {record.ok ? '✓' : '✗'} {formatTime(record.finishedAt, zone)} {record.requestedLevel}
              {record.passedLevel && record.passedLevel !== record.requestedLevel ? ` (passed ${record.passedLevel})` : ''}
              {record.restoredInto ? ` in ${record.restoredInto}` : ''}
              {record.error ? `: ${truncate(record.error, Math.max(20, width - 60))}` : ''}
            </Text>
          ))
        ) : (
          <Text dimColor>never verified</Text>
        )}
      </Box>
    </Box>
  );
}
