import { Box, Text } from 'ink';
import React from 'react';
import { formatBytes, formatClock, formatRate, truncate } from '../format.js';
import type { ProgressView } from '../state/progress.js';
import { colors } from '../theme.js';

/** [██████░░░░]  45%  120.0 MiB / 260.0 MiB  35.2 MiB/s  ETA 0:04  (or bytes and rate when the total is unknown) */
export function ProgressBar({ progress, width }: { progress: ProgressView; width: number }) {
  const { fraction, bytes, totalBytes, rate, etaMs, phase, message } = progress;
  const numbers = [
    fraction !== undefined ? `${String(Math.floor(fraction * 100)).padStart(3)}%` : undefined,
    bytes !== undefined ? `${formatBytes(bytes)}${totalBytes !== undefined ? ` / ${formatBytes(totalBytes)}` : ''}` : undefined,
    bytes !== undefined ? formatRate(rate) : undefined,
    fraction !== undefined ? `ETA ${etaMs === undefined ? '?' : formatClock(etaMs)}` : undefined,
  ].filter(Boolean).join('  ');
  const barWidth = Math.max(10, Math.min(40, width - numbers.length - 6));
  const filled = fraction === undefined ? 0 : Math.round(fraction * barWidth);
  return (
    <Box flexDirection="column">
      <Text>
        <Text color={colors.muted}>{phase}</Text>
        {message ? <Text>: {truncate(message, Math.max(10, width - phase.length - 4))}</Text> : null}
      </Text>
      {bytes !== undefined || fraction !== undefined ? (
        <Text>
          {fraction !== undefined ? (
            <>
              <Text color={colors.accent}>{'█'.repeat(filled)}</Text>
              <Text color={colors.muted}>{'░'.repeat(barWidth - filled)}</Text>
              <Text> </Text>
            </>
          ) : null}
          <Text>{numbers}</Text>
        </Text>
      ) : null}
    </Box>
  );
}
