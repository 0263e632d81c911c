import { Box, Text } from 'ink';
import React, { useState } from 'react';
import type { ParamQuestion } from '../../runbook/params.js';
import { useAsync } from '../hooks/useAsync.js';
import type { TuiServices } from '../services.js';
import { colors } from '../theme.js';
import { BackupPicker } from './BackupPicker.js';
import { Choice } from './Choice.js';
import { TextInput } from './TextInput.js';
import { TimestampInput } from './TimestampInput.js';

/** A runbook param the run needs before it starts, asked in the form its type calls for. */
export function ParamPrompt({ question, services, onSubmit }: { question: ParamQuestion; services: TuiServices; onSubmit(value: string): void }) {
  const { name, param } = question;
  return (
    <Box flexDirection="column" borderStyle="round" borderColor={colors.accent} paddingX={1}>
      <Text bold>The run needs a value before it starts</Text>
      {param.type === 'timestamp' ? (
        <TimestampInput name={name} description={param.description} initial={param.default} zone={services.timezone} onSubmit={onSubmit} />
      ) : param.type === 'backup' ? (
        <BackupParam question={question} services={services} onSubmit={onSubmit} />
      ) : param.type === 'choice' ? (
        <>
          <Text>
            <Text bold>{name}</Text>
            {param.description ? `: ${param.description}` : ''}
          </Text>
          <Choice
            options={param.choices!.map((choice) => ({ value: choice, label: choice }))}
            initialIndex={param.default ? param.choices!.indexOf(param.default) : 0}
            onChoose={onSubmit}
          />
        </>
      ) : (
        <TextParam question={question} onSubmit={onSubmit} />
      )}
    </Box>
  );
}

function BackupParam({ question, services, onSubmit }: { question: ParamQuestion; services: TuiServices; onSubmit(value: string): void }) {
  const listing = useAsync(() => services.listBackups(), []);
  return (
    <Box flexDirection="column">
      <Text>
        Choose the backup for <Text bold>{question.name}</Text>
        {question.param.description ? `: ${question.param.description}` : ''}
      </Text>
      {listing.status === 'loading' ? <Text dimColor>reading the repository…</Text> : null}
      {listing.status === 'error' ? <Text color={colors.danger}>Cannot list backups: {listing.message}</Text> : null}
      {listing.status === 'ready' ? <BackupPicker backups={listing.value.backups} defaultRef={question.param.default ?? 'latest-verified'} onSelect={onSubmit} /> : null}
    </Box>
  );
}

function TextParam({ question, onSubmit }: { question: ParamQuestion; onSubmit(value: string): void }) {
  const [value, setValue] = useState(question.param.default ?? '');
  const [error, setError] = useState<string | undefined>();
  return (
    <Box flexDirection="column">
      <Text>
        <Text bold>{question.name}</Text>
        {question.param.description ? `: ${question.param.description}` : ''}
        {question.param.type === 'target' ? <Text dimColor> (a configured target name)</Text> : null}
      </Text>
      <Box>
        <Text color={colors.accent}>❯ </Text>
        <TextInput
          value={value}
          onChange={(next) => {
            setValue(next);
            setError(undefined);
          }}
          onSubmit={(text) => (text.trim() ? onSubmit(text.trim()) : setError('A value is needed.'))}
        />
      </Box>
      {error ? <Text color={colors.danger}>{error}</Text> : null}
    </Box>
  );
}
