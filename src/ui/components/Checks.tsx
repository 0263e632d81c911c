import { Box, Text } from 'ink';
import React from 'react';
import type { CheckResultData } from '../../runbook/events.js';
import { truncate } from '../format.js';
import { colors } from '../theme.js';
import { Spinner } from './Spinner.js';

/** Live checks of the current step, each updated in place when it is re-run. */
export function Checks({ checks, running, width }: { checks: CheckResultData[]; running: boolean; width: number }) {
  if (!checks.length && !running) return null;
  return (
    <Box flexDirection="column">
      {checks.map((check) => (
        <Text key={`${check.phase}:${check.check}:${check.title}`}>
          <Text color={check.ok ? colors.ok : colors.danger}>{check.ok ? '✓' : '✗'}</Text>
          <Text color={colors.muted}> {check.phase}-check </Text>
          <Text>{truncate(`${check.title}: ${check.detail}${check.attempt > 1 ? ` (attempt ${check.attempt})` : ''}`, Math.max(10, width - 16))}</Text>
        </Text>
      ))}
      {running ? (
        <Text>
          <Spinner /> <Text color={colors.muted}>working…</Text>
        </Text>
      ) : null}
    </Box>
  );
}
