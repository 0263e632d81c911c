import readline from 'node:readline/promises';
import { LifelineError } from '../errors.js';
import type { GivenAnswer, InputRequest } from './events.js';
import type { ParamQuestion } from './params.js';
import type { Answerer } from './runner.js';

/**
 * Asks the person at the terminal, one line at a time (the --plain view's answerer).
 * Only used when stdin and stdout are terminals: nothing ever waits on a pipe.
 */
export interface LinePrompter {
  answer: Answerer;
  askParam(question: ParamQuestion): Promise<string>;
  close(): void;
}

export function createLinePrompter(input: NodeJS.ReadableStream, output: NodeJS.WritableStream): LinePrompter {
  const rl = readline.createInterface({ input, output, terminal: false });
  const question = async (text: string, signal?: AbortSignal): Promise<string> => {
    try {
      return (await rl.question(text, { signal })).trim();
    } catch (error) {
      if (signal?.aborted) throw error;
      throw new LifelineError('INPUT_NEEDED', 'The terminal closed while an answer was awaited.', { hint: 'Resume the run with --resume <run-id>.' });
    }
  };
  const reason = async (signal: AbortSignal): Promise<string> => {
    for (;;) {
      const text = await question('      reason (recorded in the audit trail): ', signal);
      if (text) return text;
    }
  };
  const choose = async (prompt: string, options: Record<string, GivenAnswer['type']>, signal: AbortSignal): Promise<GivenAnswer> => {
    const keys = Object.keys(options);
    for (;;) {
      const text = (await question(`    ${prompt} [${keys.map((key) => `${key[0]}=${key}`).join(', ')}]: `, signal)).toLowerCase();
      const key = keys.find((candidate) => candidate === text || candidate[0] === text);
      if (!key) continue;
      const type = options[key];
      if (type === 'skip') return { type, reason: await reason(signal) };
      if (type === 'abort') return { type };
      if (type === 'retry') return { type };
      return { type: 'yes' };
    }
  };
  const answer: Answerer = async (request: InputRequest, { signal }) => {
    switch (request.kind) {
      case 'confirm':
        return choose(request.prompt, { yes: 'yes', skip: 'skip', abort: 'abort' }, signal);
      case 'manual':
        return choose('done?', { done: 'yes', skip: 'skip', abort: 'abort' }, signal);
      case 'decision':
        return choose('what now?', { retry: 'retry', skip: 'skip', abort: 'abort' }, signal);
      case 'typed': {
        const text = await question(`    ${request.mismatch ? `${request.mismatch}. ` : ''}${request.prompt} (empty line to skip or abort): `, signal);
        if (text) return { type: 'typed', text };
        return choose('instead', { skip: 'skip', abort: 'abort' }, signal);
      }
    }
  };
  return {
    answer,
    async askParam({ name, param }) {
      for (;;) {
        const hint = param.choices ? ` (${param.choices.join('/')})` : param.type === 'timestamp' ? ' (ISO 8601 with offset)' : '';
        const text = await question(`param ${name}${param.description ? ` - ${param.description}` : ''}${hint}: `);
        if (text) return text;
      }
    },
    close: () => rl.close(),
  };
}
