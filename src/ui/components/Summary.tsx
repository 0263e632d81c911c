import { Box, Text } from 'ink';
import React from 'react';
import type { ContactInfo, Measurement, RunFinishedData } from '../../runbook/events.js';
import { formatDuration } from '../format.js';
import { colors } from '../theme.js';
import { ContactLines } from './ContactsPanel.js';

const headline: Record<RunFinishedData['outcome'], { mark: string; text: string; color: string }> = {
  succeeded: { mark: '✓', text: 'Run succeeded', color: colors.ok },
  'skipped-steps': { mark: '↷', text: 'Run finished with skipped steps', color: colors.warn },
  failed: { mark: '✗', text: 'Run failed', color: colors.danger },
  aborted: { mark: '✗', text: 'Run aborted', color: colors.danger },
  interrupted: { mark: '‖', text: 'Run interrupted', color: colors.warn },
  'input-needed': { mark: '‖', text: 'Run stopped: input needed', color: colors.warn },
};

function objective(name: string, measurement: Measurement) {
  const met = measurement.met;
  return (
    <Text key={name}>
      <Text bold>{name} </Text>
      {formatDuration(measurement.ms)}
      {measurement.targetMs !== undefined ? (
        <Text>
          {' '}
          against {formatDuration(measurement.targetMs)}:{' '}
          <Text color={met ? colors.ok : colors.danger} bold>
            {met ? 'met' : 'MISSED'}
          </Text>
        </Text>
      ) : null}
    </Text>
  );
}

/** The end of a run: outcome, measured RTO/RPO, skips with reasons, where the audit trail is. */
export function Summary({
  finished,
  runId,
  dryRun,
  auditFile,
  uploadError,
  contacts,
  exitCode,
}: {
  finished: RunFinishedData;
  runId?: string;
  dryRun?: boolean;
  auditFile?: string;
  uploadError?: string;
  contacts: ContactInfo[];
  exitCode: number;
}) {
  const head = headline[finished.outcome];
  const { measurements } = finished;
  const bad = finished.outcome === 'failed' || finished.outcome === 'aborted';
  return (
    <Box flexDirection="column" borderStyle="round" borderColor={head.color} paddingX={1}>
      <Text color={head.color} bold>
        {head.mark} {head.text}
        {finished.failedStep ? ` at step ${finished.failedStep}` : ''}
        {dryRun ? ' (dry-run: nothing was changed)' : ''}
        <Text color={undefined} bold={false}>
          {' '}
          in {formatDuration(finished.durationMs)} · exit code {exitCode}
        </Text>
      </Text>
      {finished.error && finished.outcome !== 'succeeded' && finished.outcome !== 'skipped-steps' ? (
        <>
          <Text>{finished.error.message}</Text>
          {finished.error.hint ? <Text color={colors.muted}>hint: {finished.error.hint}</Text> : null}
        </>
      ) : null}
      {finished.failedChecks ? <Text color={colors.danger}>{finished.failedChecks} check(s) failed</Text> : null}
      {measurements.rto ? objective('RTO', measurements.rto) : null}
      {measurements.rpo ? objective('RPO', measurements.rpo) : null}
      {measurements.notes.map((note) => (
        <Text key={note} dimColor>
          {note}
        </Text>
      ))}
      {finished.skipped.map((skip, index) => (
        <Text key={`${skip.step}-${index}`} color={colors.warn}>
          ↷ skipped {skip.step} ({skip.what}): {skip.reason}
          {skip.unattended ? ' [unattended]' : ''}
        </Text>
      ))}
      {(finished.outcome === 'interrupted' || finished.outcome === 'input-needed') && runId ? (
        <Text>
          resume with: <Text bold>lifeline run --resume {runId}</Text>
        </Text>
      ) : null}
      {auditFile ? (
        <Text dimColor>
          audit trail: {auditFile}
          {runId ? ` (lifeline audit report ${runId})` : ''}
        </Text>
      ) : null}
      {uploadError ? <Text color={colors.warn}>warning: the audit trail was not copied to the repository: {uploadError}</Text> : null}
      {bad ? (
        <Box flexDirection="column" marginTop={1}>
          <Text bold>Emergency contacts</Text>
          <ContactLines contacts={contacts} />
        </Box>
      ) : null}
      <Text bold>Press enter or q to exit (exit code {exitCode}).</Text>
    </Box>
  );
}
