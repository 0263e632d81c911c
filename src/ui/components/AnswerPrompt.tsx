import { Box, Text } from 'ink';
import React, { useState } from 'react';
import type { ContactInfo, GivenAnswer, InputRequest } from '../../runbook/events.js';
import { colors } from '../theme.js';
import { Choice } from './Choice.js';
import { ContactLines } from './ContactsPanel.js';
import { ReasonInput } from './ReasonInput.js';
import { TypedConfirmation } from './TypedConfirmation.js';

type Mode = { kind: 'ask' } | { kind: 'reason' } | { kind: 'typed-cancelled' };
type Pick = 'yes' | 'retry' | 'skip' | 'abort' | 'retype';

const ABORT_REASON = 'the operator chose to abort';

/**
 * The Runner's question, answered with the safe or usual option preselected: yes for a
 * confirmation, done for a manual step, retry after a failure, and the expected value filled
 * in for a typed confirmation against the sandbox. Skip always asks for a reason.
 */
export function AnswerPrompt({ request, contacts, onAnswer }: { request: InputRequest; contacts: ContactInfo[]; onAnswer(answer: GivenAnswer): void }) {
  const [mode, setMode] = useState<Mode>({ kind: 'ask' });
  const pick = (value: Pick) => {
    if (value === 'skip') setMode({ kind: 'reason' });
    else if (value === 'abort') onAnswer({ type: 'abort', reason: ABORT_REASON });
    else if (value === 'retype') setMode({ kind: 'ask' });
    else onAnswer({ type: value });
  };
  const skipWhat = request.kind === 'decision' && request.phase !== 'action' ? `the failed ${request.phase}-check` : `step "${request.step}"`;

  if (mode.kind === 'reason') {
    return (
      <Frame color={colors.warn}>
        <ReasonInput what={skipWhat} onSubmit={(reason) => onAnswer({ type: 'skip', reason })} onCancel={() => setMode({ kind: 'ask' })} />
      </Frame>
    );
  }

  switch (request.kind) {
    case 'confirm':
      return (
        <Frame color={colors.accent}>
          <Text bold>{request.prompt}</Text>
          <Choice<Pick>
            options={[
              { value: 'yes', label: 'Yes, run it', hotkey: 'y' },
              { value: 'skip', label: 'Skip this step', hotkey: 's', hint: 'asks for a reason' },
              { value: 'abort', label: 'Abort the run', hotkey: 'a', hint: 'rolls back completed steps', color: colors.danger },
            ]}
            onChoose={pick}
          />
        </Frame>
      );
    case 'manual':
      return (
        <Frame color={colors.accent}>
          <Text bold>Your turn: do this, then mark it done</Text>
          <Text>{request.instruction}</Text>
          <Choice<Pick>
            options={[
              { value: 'yes', label: 'Done', hotkey: 'd' },
              { value: 'skip', label: 'Skip this step', hotkey: 's', hint: 'asks for a reason' },
              { value: 'abort', label: 'Abort the run', hotkey: 'a', color: colors.danger },
            ]}
            onChoose={pick}
          />
        </Frame>
      );
    case 'decision':
      return (
        <Frame color={colors.danger}>
          <Text color={colors.danger} bold>
            {request.phase === 'action' ? 'The step failed' : `A ${request.phase}-check failed`}
            {request.attempt > 1 ? ` (attempt ${request.attempt})` : ''}
          </Text>
          <Text>{request.failure}</Text>
          <Choice<Pick>
            options={[
              { value: 'retry', label: request.phase === 'action' ? 'Retry the step' : 'Run the checks again', hotkey: 'r' },
              { value: 'skip', label: request.phase === 'action' ? 'Skip this step' : 'Go on despite the check', hotkey: 's', hint: 'asks for a reason' },
              { value: 'abort', label: 'Abort the run', hotkey: 'a', hint: 'rolls back completed steps', color: colors.danger },
            ]}
            onChoose={pick}
          />
          {contacts.length ? (
            <Box flexDirection="column" marginTop={1}>
              <Text bold>Emergency contacts</Text>
              <ContactLines contacts={contacts} />
            </Box>
          ) : null}
        </Frame>
      );
    case 'typed':
      if (mode.kind === 'typed-cancelled') {
        return (
          <Frame color={colors.warn}>
            <Text bold>Cancelled: nothing was done. What now?</Text>
            <Choice<Pick>
              options={[
                { value: 'retype', label: 'Go back and type it', hotkey: 't' },
                { value: 'skip', label: 'Skip this step', hotkey: 's', hint: 'asks for a reason' },
                { value: 'abort', label: 'Abort the run', hotkey: 'a', hint: 'rolls back completed steps', color: colors.danger },
              ]}
              onChoose={pick}
              onCancel={() => setMode({ kind: 'ask' })}
            />
          </Frame>
        );
      }
      return (
        <TypedConfirmation
          prompt={request.prompt}
          expected={request.expected}
          sandbox={request.sandbox}
          mismatch={request.mismatch}
          onSubmit={(text) => onAnswer({ type: 'typed', text })}
          onCancel={() => setMode({ kind: 'typed-cancelled' })}
        />
      );
  }
}

function Frame({ color, children }: { color: string; children: React.ReactNode }) {
  return (
    <Box flexDirection="column" borderStyle="round" borderColor={color} paddingX={1}>
      {children}
    </Box>
  );
}
