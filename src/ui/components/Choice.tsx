import { Box, Text } from 'ink';
import React, { useRef, useState } from 'react';
import { commandFor, printable } from '../key/keyBindings.js';
import { PRIORITY, useKeypress } from '../key/KeypressContext.js';
import { colors } from '../theme.js';

export interface ChoiceOption<T> {
  value: T;
  label: string;
  /** A letter that picks this option at once (never c, q or ?: those stay global). */
  hotkey?: string;
  hint?: string;
  color?: string;
}

/**
 * A short list of answers with the safe or usual one preselected: Enter alone takes it,
 * arrows move, a hotkey picks directly.
 */
export function Choice<T>({
  options,
  initialIndex = 0,
  onChoose,
  onCancel,
  isActive = true,
  horizontal = false,
  priority = PRIORITY.prompt,
}: {
  options: Array<ChoiceOption<T>>;
  initialIndex?: number;
  onChoose(value: T): void;
  onCancel?(): void;
  isActive?: boolean;
  horizontal?: boolean;
  priority?: number;
}) {
  const [index, setIndexState] = useState(Math.min(Math.max(0, initialIndex), options.length - 1));
  // Enter right after an arrow (before a redraw) takes the option the arrow moved to.
  const current = useRef(index);
  const setIndex = (update: (i: number) => number) => {
    current.current = update(current.current);
    setIndexState(current.current);
  };
  useKeypress(
    (input, key) => {
      const command = commandFor(input, key, ['confirm', 'cancel', 'up', 'down']);
      if (command === 'confirm') {
        onChoose(options[current.current].value);
        return true;
      }
      if (command === 'cancel' && onCancel) {
        onCancel();
        return true;
      }
      if (command === 'up' || key.leftArrow) {
        setIndex((i) => (i + options.length - 1) % options.length);
        return true;
      }
      if (command === 'down' || key.rightArrow || key.tab) {
        setIndex((i) => (i + 1) % options.length);
        return true;
      }
      const letter = printable(input, key)?.toLowerCase();
      const picked = letter ? options.find((option) => option.hotkey === letter) : undefined;
      if (picked) {
        onChoose(picked.value);
        return true;
      }
      return false;
    },
    { priority, isActive },
  );
  return (
    <Box flexDirection={horizontal ? 'row' : 'column'} columnGap={2}>
      {options.map((option, i) => {
        const selected = i === index;
        return (
          <Text key={option.label} color={selected ? (option.color ?? colors.accent) : undefined} bold={selected}>
            {selected ? '❯ ' : '  '}
            {option.label}
            {option.hotkey ? <Text dimColor> ({option.hotkey})</Text> : null}
            {option.hint && !horizontal ? <Text dimColor> {option.hint}</Text> : null}
          </Text>
        );
      })}
    </Box>
  );
}
