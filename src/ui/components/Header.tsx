import { Box, Text } from 'ink';
import React from 'react';
import { formatClock, formatDuration, truncate } from '../format.js';
import { colors } from '../theme.js';

/** Title, the target (the sandbox clearly marked, anything else in red), and the RTO clock. */
export function Header({
  title,
  target,
  sandbox,
  dryRun,
  training,
  clockLabel = 'RTO clock',
  elapsedMs,
  rtoTargetMs,
  width,
}: {
  title: string;
  target?: string;
  sandbox?: boolean;
  dryRun?: boolean;
  training?: boolean;
  /** "RTO clock" for recoveries and drills, "elapsed" for routine runbooks. */
  clockLabel?: string;
  elapsedMs?: number;
  rtoTargetMs?: number;
  width: number;
}) {
  const over = rtoTargetMs !== undefined && elapsedMs !== undefined && elapsedMs > rtoTargetMs;
  return (
    <Box flexDirection="column">
      <Box justifyContent="space-between">
        <Text bold color={colors.accent}>
          {truncate(`lifeline · ${title}`, Math.max(20, width - 34))}
        </Text>
        {elapsedMs !== undefined ? (
          <Text color={over ? colors.danger : undefined} bold>
            {clockLabel} {formatClock(elapsedMs)}
            {rtoTargetMs !== undefined ? <Text dimColor={!over}> / target {formatDuration(rtoTargetMs)}</Text> : null}
          </Text>
        ) : null}
      </Box>
      {target !== undefined ? (
        <Text>
          <Text color={sandbox ? colors.sandbox : colors.production} bold inverse>
            {sandbox ? ' SANDBOX ' : ' TARGET '}
          </Text>
          <Text> {target}</Text>
          {dryRun ? (
            <Text color={colors.warn} bold>
              {'  '}DRY-RUN: nothing will be changed
            </Text>
          ) : null}
          {training ? <Text color={colors.muted}>{'  '}training mode: every step explains itself</Text> : null}
        </Text>
      ) : null}
    </Box>
  );
}
