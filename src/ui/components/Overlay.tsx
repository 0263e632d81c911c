import { commandFor, type Command } from '../key/keyBindings.js';
import { PRIORITY, useKeypress } from '../key/KeypressContext.js';

/**
 * While a panel (help, contacts) is open it owns the keyboard: its toggle key or Escape closes
 * it, everything else is swallowed so nothing underneath reacts.
 */
export function usePanelKeys(open: Command | undefined, close: () => void, toggles: Command[] = ['help', 'contacts']): void {
  useKeypress(
    (input, key) => {
      const command = commandFor(input, key, ['cancel', ...toggles]);
      if (command === 'cancel' || command === open) close();
      return true;
    },
    { priority: PRIORITY.overlay - 1, isActive: open !== undefined },
  );
}
