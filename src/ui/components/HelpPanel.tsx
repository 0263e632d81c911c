import { Box, Text } from 'ink';
import React from 'react';
import { colors } from '../theme.js';

export interface KeyHelp {
  keys: string;
  does: string;
}

/** `?`: why the current step exists (its `explain`), what it will do, and the keys. */
export function HelpPanel({ title, explain, describe, keys }: { title?: string; explain?: string; describe?: string; keys: KeyHelp[] }) {
  return (
    <Box flexDirection="column" borderStyle="double" borderColor={colors.accent} paddingX={1}>
      {title ? <Text bold>{title}</Text> : null}
      {explain ? <Text>{explain.trim()}</Text> : title ? <Text dimColor>This step has no explanation in its runbook.</Text> : null}
      {describe ? (
        <Text>
          <Text color={colors.muted}>does: </Text>
          {describe}
        </Text>
      ) : null}
      <Box flexDirection="column" marginTop={title ? 1 : 0}>
        <Text bold>Keys</Text>
        {keys.map((key) => (
          <Text key={key.keys}>
            <Text color={colors.accent}>{key.keys.padEnd(12)}</Text>
            {key.does}
          </Text>
        ))}
      </Box>
      <Text dimColor>? or esc to close</Text>
    </Box>
  );
}
