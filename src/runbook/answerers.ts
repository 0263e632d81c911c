import { LifelineError } from '../errors.js';
import type { GivenAnswer, InputRequest } from './events.js';
import type { Answerer } from './runner.js';

/**
 * Answers without a person. --yes answers yes/no confirmations and acknowledges manual steps
 * (recorded as unattended) and a typed confirmation only against the sandbox. A failed check or
 * action with nobody to decide aborts the run. Anything else goes to `person` when there is one,
 * or ends the run with exit 4 naming what would answer it.
 */
export interface UnattendedOptions {
  yes: boolean;
  /** A person who can be asked (a terminal); absent in cron, CI and pipes. */
  person?: Answerer;
}

export function unattendedAnswerer({ yes, person }: UnattendedOptions): Answerer {
  return async (request, options) => {
    const auto = automaticAnswer(request, yes);
    if (auto) return auto;
    if (person) return person(request, options);
    if (request.kind === 'decision') {
      return { type: 'abort', reason: `no operator to decide after ${request.phase === 'action' ? 'the action failed' : `a ${request.phase}-check failed`}`, unattended: true };
    }
    throw inputNeeded(request, yes);
  };
}

function automaticAnswer(request: InputRequest, yes: boolean): GivenAnswer | undefined {
  if (!yes) return undefined;
  if (request.kind === 'confirm' || request.kind === 'manual') return { type: 'yes', unattended: true };
  if (request.kind === 'typed' && request.sandbox && !request.mismatch) return { type: 'typed', text: request.expected, unattended: true };
  return undefined;
}

function inputNeeded(request: InputRequest, yes: boolean): LifelineError {
  switch (request.kind) {
    case 'confirm':
      return new LifelineError('INPUT_NEEDED', `Step "${request.step}" asks for confirmation and nobody can answer (no terminal).`, {
        hint: 'Pass --yes to answer yes/no confirmations, or run it from a terminal.',
      });
    case 'manual':
      return new LifelineError('INPUT_NEEDED', `Step "${request.step}" is a manual step and nobody can acknowledge it (no terminal).`, {
        hint: 'Pass --yes to acknowledge manual steps (recorded as unattended), or run it from a terminal.',
      });
    case 'typed':
      return new LifelineError('INPUT_NEEDED', `Step "${request.step}" needs the operator to type "${request.expected}" and nobody can (no terminal).`, {
        hint: request.sandbox
          ? 'Pass --yes (against the sandbox it answers typed confirmations too), or run it from a terminal.'
          : `${yes ? '--yes never answers a typed confirmation against a target that is not the sandbox: ' : ''}run it from a terminal, where a person types it.`,
      });
    case 'decision':
      return new LifelineError('INPUT_NEEDED', `Step "${request.step}" failed and nobody can decide what to do.`);
  }
}
