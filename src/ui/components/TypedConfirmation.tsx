import { Box, Text } from 'ink';
import React, { useState } from 'react';
import { colors } from '../theme.js';
import { TextInput } from './TextInput.js';

/**
 * The DangerousConfirmationPrompt: the operator types the exact value (the database name) before
 * a destructive step. Against the sandbox the value is filled in (Enter accepts); against any
 * other target the field starts empty. Escape cancels; a wrong value says "Value must be exactly X".
 */
export function TypedConfirmation({
  prompt,
  expected,
  sandbox,
  mismatch,
  onSubmit,
  onCancel,
  isActive = true,
}: {
  prompt: string;
  expected: string;
  sandbox: boolean;
  mismatch?: string;
  onSubmit(text: string): void;
  onCancel(): void;
  isActive?: boolean;
}) {
  const [value, setValue] = useState(sandbox ? expected : '');
  const [error, setError] = useState<string | undefined>(mismatch);
  return (
    <Box flexDirection="column" borderStyle="round" borderColor={sandbox ? colors.warn : colors.danger} paddingX={1}>
      <Text color={sandbox ? colors.warn : colors.danger} bold>
        {sandbox ? 'Destructive step (sandbox)' : 'DESTRUCTIVE STEP against a real target'}
      </Text>
      <Text>{prompt}</Text>
      <Text>
        Type <Text bold>{expected}</Text> to confirm{sandbox ? ' (filled in: this is the sandbox)' : ''}:
      </Text>
      <Box>
        <Text color={colors.accent}>❯ </Text>
        <TextInput
          value={value}
          isActive={isActive}
          onChange={(next) => {
            setValue(next);
            setError(undefined);
          }}
          onSubmit={(text) => {
            if (text !== expected) {
              setError(`Value must be exactly ${expected}`);
              // The Runner records the attempt and asks again.
            }
            onSubmit(text);
          }}
          onCancel={onCancel}
        />
      </Box>
      {error ? <Text color={colors.danger}>{error}</Text> : null}
      <Text dimColor>enter confirm · esc cancel (then skip or abort)</Text>
    </Box>
  );
}
