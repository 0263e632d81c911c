import { Box, Text } from 'ink';
import React from 'react';
import { KeyHints } from '../components/KeyHints.js';
import { useAsync } from '../hooks/useAsync.js';
import { commandFor } from '../key/keyBindings.js';
import { PRIORITY, useKeypress } from '../key/KeypressContext.js';
import type { TuiServices } from '../services.js';
import { colors } from '../theme.js';

const mark = { ok: ['✓', colors.ok], warning: ['⚠', colors.warn], critical: ['✗', colors.danger], info: ['·', colors.muted] } as const;

/** Health against the policy, as `lifeline status` reports it; r asks again. */
export function StatusScreen({ services, onBack }: { services: TuiServices; onBack(): void }) {
  const status = useAsync(() => services.status(), []);
  useKeypress(
    (input, key) => {
      const command = commandFor(input, key, ['back', 'quit', 'interrupt']);
      if (command) onBack();
      else if (input === 'r') status.reload();
      else return false;
      return true;
    },
    { priority: PRIORITY.screen },
  );
  return (
    <Box flexDirection="column">
      <Text bold color={colors.accent}>
        lifeline · status
      </Text>
      {status.status === 'loading' ? <Text dimColor>checking…</Text> : null}
      {status.status === 'error' ? <Text color={colors.danger}>Status unknown: {status.message}</Text> : null}
      {status.status === 'ready' ? (
        <>
          <Text bold color={mark[status.value.level][1]}>
            {mark[status.value.level][0]} overall: {status.value.level}
          </Text>
          {status.value.lines.map((line) => (
            <Text key={line.text}>
              <Text color={mark[line.level][1]}>{mark[line.level][0]}</Text> {line.text}
            </Text>
          ))}
        </>
      ) : null}
      <Box marginTop={1}>
        <KeyHints hints={[['r', 'refresh'], ['esc', 'home']]} />
      </Box>
    </Box>
  );
}
