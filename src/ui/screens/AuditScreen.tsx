import { Box, Text } from 'ink';
import SelectInput from 'ink-select-input';
import React, { useState } from 'react';
import { KeyHints } from '../components/KeyHints.js';
import { ScrollText } from '../components/ScrollText.js';
import { formatAge } from '../format.js';
import { useAsync } from '../hooks/useAsync.js';
import { useTerminalSize } from '../hooks/useTerminalSize.js';
import { commandFor } from '../key/keyBindings.js';
import { PRIORITY, useKeypress } from '../key/KeypressContext.js';
import type { TuiServices } from '../services.js';
import { colors } from '../theme.js';

/** Past runs (newest first); enter opens the run's Markdown report, checked against its hash chain. */
export function AuditScreen({ services, onBack }: { services: TuiServices; onBack(): void }) {
  const runs = useAsync(() => services.auditRuns(), []);
  const [open, setOpen] = useState<string>();
  const { columns, rows } = useTerminalSize();
  useKeypress(
    (input, key) => {
      const command = commandFor(input, key, ['back', 'quit', 'interrupt']);
      if (!command || (command === 'back' && key.leftArrow && open)) return false;
      if (open) setOpen(undefined);
      else onBack();
      return true;
    },
    { priority: PRIORITY.screen },
  );
  return (
    <Box flexDirection="column" width={columns}>
      <Text bold color={colors.accent}>
        lifeline · audit logs{open ? ` · ${open}` : ''}
      </Text>
      {open ? (
        <Report services={services} runId={open} height={Math.max(5, rows - 6)} width={columns - 2} />
      ) : (
        <>
          {runs.status === 'loading' ? <Text dimColor>reading the audit logs…</Text> : null}
          {runs.status === 'error' ? <Text color={colors.danger}>Cannot read the audit logs: {runs.message}</Text> : null}
          {runs.status === 'ready' && !runs.value.length ? <Text>No runs yet: start one from the home screen.</Text> : null}
          {runs.status === 'ready' && runs.value.length ? (
            <SelectInput
              items={runs.value.map((run) => ({
                label: `${run.id.padEnd(42)} ${run.outcome.padEnd(14)} ${run.operator.padEnd(10)} ${run.startedAt ? formatAge(run.startedAt) : '?'}${run.dryRun ? ' (dry-run)' : ''}`,
                value: run.id,
              }))}
              limit={Math.max(5, rows - 6)}
              onSelect={(item) => setOpen(item.value)}
            />
          ) : null}
        </>
      )}
      <Box marginTop={1}>
        <KeyHints hints={open ? [['↑↓ pgup pgdn', 'scroll'], ['esc', 'back to the list']] : [['↑↓', 'move'], ['enter', 'open the report'], ['esc', 'home']]} />
      </Box>
    </Box>
  );
}

function Report({ services, runId, height, width }: { services: TuiServices; runId: string; height: number; width: number }) {
  const report = useAsync(() => services.auditReport(runId), [runId]);
  if (report.status === 'loading') return <Text dimColor>reading {runId}…</Text>;
  if (report.status === 'error') return <Text color={colors.danger}>Cannot open the report: {report.message}</Text>;
  return (
    <Box flexDirection="column">
      {report.value.intact ? (
        <Text color={colors.ok}>✓ audit chain intact</Text>
      ) : (
        <Text color={colors.danger}>✗ audit chain BROKEN: {report.value.problem}</Text>
      )}
      <ScrollText text={report.value.markdown} height={height - 1} width={width} />
    </Box>
  );
}
