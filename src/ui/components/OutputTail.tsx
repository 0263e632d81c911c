import { Box, Text } from 'ink';
import React from 'react';
import { truncate } from '../format.js';
import { colors } from '../theme.js';

/** The last lines the running command printed. */
export function OutputTail({ lines, max, width }: { lines: Array<{ stream: 'stdout' | 'stderr'; line: string }>; max: number; width: number }) {
  if (!lines.length || max <= 0) return null;
  const tail = lines.slice(-max);
  return (
    <Box flexDirection="column" borderStyle="single" borderColor={colors.muted} borderLeft={false} borderRight={false} borderBottom={false}>
      {tail.map((item, index) => (
        <Text key={index} color={item.stream === 'stderr' ? colors.warn : undefined} dimColor={item.stream === 'stdout'}>
          {truncate(`${item.stream === 'stderr' ? '! ' : '> '}${item.line}`, Math.max(10, width - 2))}
        </Text>
      ))}
    </Box>
  );
}
