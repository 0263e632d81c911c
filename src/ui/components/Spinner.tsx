import { Text } from 'ink';
import React, { useEffect, useState } from 'react';
import { colors } from '../theme.js';

const FRAMES = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

export function Spinner({ interval = 120 }: { interval?: number }) {
  const [frame, setFrame] = useState(0);
  useEffect(() => {
    const timer = setInterval(() => setFrame((n) => (n + 1) % FRAMES.length), interval);
    return () => clearInterval(timer);
  }, [interval]);
  return <Text color={colors.accent}>{FRAMES[frame]}</Text>;
}
