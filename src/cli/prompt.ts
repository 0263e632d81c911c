import readline from 'node:readline/promises';
import { LifelineError } from '../errors.js';

/** Fails with exit 4 (input needed) when nothing could answer a prompt; names the flag that does. */
export function requireTerminal(question: string, flag: string): void {
  if (!process.stdin.isTTY || !process.stderr.isTTY) {
    throw new LifelineError('INPUT_NEEDED', `${question} needs a typed confirmation and there is no terminal.`, {
      hint: `Pass ${flag} to record consent non-interactively.`,
    });
  }
}

/**
 * The operator types the exact value (a database name) to consent to a destructive step.
 * Without a terminal nothing waits on stdin: the caller's flag is named instead.
 */
export async function typedConfirmation(options: { expected: string; question: string; flag: string }): Promise<void> {
  requireTerminal(options.question, options.flag);
  const rl = readline.createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = await rl.question(`${options.question}\nType "${options.expected}" to continue (anything else cancels): `);
    if (answer.trim() !== options.expected) {
      throw new LifelineError('ABORTED', `Cancelled: value must be exactly "${options.expected}".`, { hint: 'Nothing was changed.' });
    }
  } finally {
    rl.close();
  }
}
