import { Text } from 'ink';
import React, { useRef } from 'react';
import { commandFor, printable } from '../key/keyBindings.js';
import { PRIORITY, useKeypress } from '../key/KeypressContext.js';

/**
 * One line of text. While it is focused it takes every printable key (so "q" or "?" are letters
 * here); Enter submits, Escape cancels, Ctrl-C still reaches the global handler.
 */
export function TextInput({
  value,
  onChange,
  onSubmit,
  onCancel,
  placeholder,
  isActive = true,
}: {
  value: string;
  onChange(value: string): void;
  onSubmit(value: string): void;
  onCancel?(): void;
  placeholder?: string;
  isActive?: boolean;
}) {
  // Keys can arrive faster than React redraws (a paste, a loaded machine): each one builds on
  // the text so far, not on the value of the last render.
  const latest = useRef(value);
  latest.current = value;
  const change = (next: string) => {
    latest.current = next;
    onChange(next);
  };
  useKeypress(
    (input, key) => {
      if (key.ctrl && input === 'c') return false;
      const command = commandFor(input, key, ['confirm', 'cancel', 'deleteBack']);
      if (command === 'confirm') {
        onSubmit(latest.current);
        return true;
      }
      if (command === 'cancel') {
        onCancel?.();
        return true;
      }
      if (command === 'deleteBack') {
        change(latest.current.slice(0, -1));
        return true;
      }
      if (key.ctrl && input === 'u') {
        change('');
        return true;
      }
      const text = printable(input, key);
      if (text) change(latest.current + text);
      // Swallow everything else (arrows, tab): a focused field owns the keyboard.
      return true;
    },
    { priority: PRIORITY.textInput, isActive },
  );
  return (
    <Text>
      {value ? <Text>{value}</Text> : placeholder ? <Text dimColor>{placeholder}</Text> : null}
      {isActive ? <Text inverse> </Text> : null}
    </Text>
  );
}
