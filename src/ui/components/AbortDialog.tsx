import { Box, Text } from 'ink';
import React from 'react';
import { colors } from '../theme.js';
import { PRIORITY } from '../key/KeypressContext.js';
import { Choice } from './Choice.js';

export interface AbortContext {
  /** The step in progress and what it is doing now. */
  step?: { id: string; title: string; type: string; rollbackOf?: string };
  /** The Runner waits for an answer (nothing is executing). */
  waiting: boolean;
  preparing: boolean;
}

/** What aborting does, in words, for the situation the operator is in. */
export function abortConsequences({ step, waiting, preparing }: AbortContext): string[] {
  if (preparing) return ['The run has not started: nothing has been changed. Aborting just leaves.'];
  const lines: string[] = [];
  if (step && !waiting && step.type === 'action') {
    lines.push(
      `The running step "${step.title}" is cancelled now: its action gets the stop signal, stops its child processes and cleans up what it started; it is recorded as aborted.`,
    );
  } else if (step && waiting) {
    lines.push(`Nothing is executing: step "${step.title}" waits for your answer and will not run.`);
  } else if (step) {
    lines.push(`Step "${step.title}" stops after its current check; it is recorded as aborted.`);
  }
  lines.push('Completed steps that declare a rollback are undone, newest first, and you see each rollback step here.');
  lines.push('The run ends "aborted" (exit 1); the audit trail records who aborted and when. It cannot be resumed: start it again.');
  return lines;
}

export function AbortDialog({ context, onAbort, onKeepGoing }: { context: AbortContext; onAbort(): void; onKeepGoing(): void }) {
  return (
    <Box flexDirection="column" borderStyle="double" borderColor={colors.danger} paddingX={1}>
      <Text bold color={colors.danger}>
        Abort the run?
      </Text>
      {abortConsequences(context).map((line) => (
        <Text key={line}>• {line}</Text>
      ))}
      <Choice<'keep' | 'abort'>
        horizontal
        priority={PRIORITY.overlay}
        options={[
          { value: 'keep', label: 'Keep going', hotkey: 'n' },
          { value: 'abort', label: 'Abort the run', hotkey: 'y', color: colors.danger },
        ]}
        onChoose={(value) => (value === 'abort' ? onAbort() : onKeepGoing())}
        onCancel={onKeepGoing}
      />
    </Box>
  );
}
