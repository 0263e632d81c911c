import { Box, Text } from 'ink';
import React, { useState } from 'react';
import { truncate } from '../format.js';
import { commandFor } from '../key/keyBindings.js';
import { PRIORITY, useKeypress } from '../key/KeypressContext.js';

/** A long text (a drill report) in a window of `height` lines: ↑↓ line by line, pgup/pgdn/space by page. */
export function ScrollText({ text, height, width }: { text: string; height: number; width: number }) {
  const lines = text.replace(/\n+$/, '').split('\n');
  const [top, setTop] = useState(0);
  const maxTop = Math.max(0, lines.length - height);
  useKeypress(
    (input, key) => {
      if (key.pageDown || input === ' ') setTop((t) => Math.min(maxTop, t + height - 1));
      else if (key.pageUp) setTop((t) => Math.max(0, t - height + 1));
      else if (commandFor(input, key, ['down'])) setTop((t) => Math.min(maxTop, t + 1));
      else if (commandFor(input, key, ['up'])) setTop((t) => Math.max(0, t - 1));
      else if (key.home || input === 'g') setTop(0);
      else if (key.end || input === 'G') setTop(maxTop);
      else return false;
      return true;
    },
    { priority: PRIORITY.prompt },
  );
  return (
    <Box flexDirection="column">
      {lines.slice(top, top + height).map((line, index) => (
        <Text key={top + index}>{truncate(line, width) || ' '}</Text>
      ))}
      <Text dimColor>
        lines {lines.length ? top + 1 : 0}-{Math.min(lines.length, top + height)} of {lines.length}
      </Text>
    </Box>
  );
}
