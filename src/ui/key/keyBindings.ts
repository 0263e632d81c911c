import type { Key } from 'ink';

/**
 * Every key the TUI reacts to, by name. Components ask "is this `confirm`?" instead of comparing
 * raw characters, so the help panel, the key hints and the behaviour cannot drift apart.
 */
export type Command =
  | 'confirm'
  | 'cancel'
  | 'up'
  | 'down'
  | 'help'
  | 'contacts'
  | 'quit'
  | 'interrupt'
  | 'back'
  | 'open'
  | 'scrollUp'
  | 'scrollDown'
  | 'deleteBack';

export interface Binding {
  /** What the help panel shows. */
  label: string;
  matches(input: string, key: Key): boolean;
}

const plain = (key: Key) => !key.ctrl && !key.meta;

export const keyBindings: Record<Command, Binding> = {
  confirm: { label: 'enter', matches: (_input, key) => key.return },
  cancel: { label: 'esc', matches: (_input, key) => key.escape },
  up: { label: '↑', matches: (input, key) => key.upArrow || (plain(key) && input === 'k') },
  down: { label: '↓', matches: (input, key) => key.downArrow || (plain(key) && input === 'j') },
  help: { label: '?', matches: (input, key) => plain(key) && input === '?' },
  contacts: { label: 'c', matches: (input, key) => plain(key) && input === 'c' },
  quit: { label: 'q', matches: (input, key) => plain(key) && input === 'q' },
  interrupt: { label: 'ctrl-c', matches: (input, key) => key.ctrl && input === 'c' },
  back: { label: 'esc', matches: (input, key) => key.escape || key.leftArrow || (plain(key) && input === 'b') },
  open: { label: 'enter', matches: (_input, key) => key.return || key.rightArrow },
  scrollUp: { label: 'pgup', matches: (input, key) => key.pageUp || key.upArrow || (plain(key) && input === 'k') },
  scrollDown: { label: 'pgdn', matches: (input, key) => key.pageDown || key.downArrow || (plain(key) && input === 'j') || (plain(key) && input === ' ') },
  deleteBack: { label: 'backspace', matches: (_input, key) => key.backspace || key.delete },
};

export function matches(command: Command, input: string, key: Key): boolean {
  return keyBindings[command].matches(input, key);
}

/** The first command a keypress means, among those a component cares about. */
export function commandFor(input: string, key: Key, commands: readonly Command[]): Command | undefined {
  return commands.find((command) => matches(command, input, key));
}

/** A printable character typed into a text field (not a control sequence). */
export function printable(input: string, key: Key): string | undefined {
  if (key.ctrl || key.meta || key.return || key.escape || key.tab || key.backspace || key.delete) return undefined;
  if (key.upArrow || key.downArrow || key.leftArrow || key.rightArrow || key.pageUp || key.pageDown) return undefined;
  // Pasted text arrives as one chunk; drop control characters from it.
  const text = input.replace(/[\u0000-\u001f\u007f]/g, '');
  return text || undefined;
}
