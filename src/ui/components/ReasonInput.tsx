import { Box, Text } from 'ink';
import React, { useState } from 'react';
import { colors } from '../theme.js';
import { TextInput } from './TextInput.js';

/** Why a step or check is skipped: required, recorded in the audit trail and the drill report. */
export function ReasonInput({ what, onSubmit, onCancel }: { what: string; onSubmit(reason: string): void; onCancel(): void }) {
  const [value, setValue] = useState('');
  const [error, setError] = useState<string | undefined>();
  return (
    <Box flexDirection="column">
      <Text>
        Why skip {what}? <Text dimColor>(recorded in the audit trail and the report)</Text>
      </Text>
      <Box>
        <Text color={colors.accent}>❯ </Text>
        <TextInput
          value={value}
          placeholder="a reason for the reviewer"
          onChange={(next) => {
            setValue(next);
            setError(undefined);
          }}
          onSubmit={(text) => {
            if (!text.trim()) setError('A reason is needed to skip.');
            else onSubmit(text.trim());
          }}
          onCancel={onCancel}
        />
      </Box>
      {error ? <Text color={colors.danger}>{error}</Text> : null}
      <Text dimColor>enter record · esc back</Text>
    </Box>
  );
}
