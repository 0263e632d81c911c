import { Box, Text } from 'ink';
import React from 'react';
import { formatDuration, truncate } from '../format.js';
import type { StepView } from '../state/runState.js';
import { stepMarks } from '../theme.js';
import { Spinner } from './Spinner.js';

/**
 * Every step with its state mark and elapsed time; the running one ticks. `still`: a progress bar
 * shows the work moving, so the running step's mark does not spin (each frame costs CPU the work needs).
 */
export function StepList({ steps, now, width, still = false }: { steps: StepView[]; now: number; width: number; still?: boolean }) {
  const idWidth = Math.min(24, Math.max(...steps.map((step) => step.id.length), 4));
  return (
    <Box flexDirection="column">
      {steps.map((step, index) => {
        const mark = stepMarks[step.status];
        const elapsed = step.status === 'running' && step.startedAt !== undefined ? now - step.startedAt : step.durationMs;
        const time = step.earlier ? 'earlier' : elapsed !== undefined ? formatDuration(Math.max(0, elapsed)) : '';
        const note = step.status === 'skipped' && step.reason ? ` (${step.reason})` : step.attempts && step.attempts > 1 ? ` (${step.attempts} attempts)` : '';
        const title = truncate(`${step.title}${note}`, Math.max(10, width - idWidth - 22));
        return (
          <Box key={`${step.rollbackOf ?? ''}${step.id}-${index}`}>
            <Box width={3}>{step.status === 'running' && !still ? <Spinner /> : <Text color={mark.color}>{mark.mark}</Text>}</Box>
            <Box width={idWidth + 2}>
              <Text color={mark.color} bold={step.status === 'running'}>
                {truncate(step.id, idWidth)}
              </Text>
            </Box>
            <Box flexGrow={1}>
              <Text bold={step.status === 'running'} dimColor={step.status === 'pending'}>
                {title}
              </Text>
            </Box>
            <Box width={10} justifyContent="flex-end">
              <Text dimColor>{time}</Text>
            </Box>
          </Box>
        );
      })}
    </Box>
  );
}
