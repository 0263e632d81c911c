import { Text } from 'ink';
import React from 'react';

/** The bottom line: the keys that work right now. */
export function KeyHints({ hints }: { hints: Array<[string, string]> }) {
  return (
    <Text dimColor wrap="truncate-end">
      {hints.map(([key, does]) => `${key} ${does}`).join(' · ')}
    </Text>
  );
}
