import { Box, Text } from 'ink';
import React, { useEffect, useRef, useState } from 'react';
import type { ContactInfo } from '../../runbook/events.js';
import { AbortDialog, type AbortContext } from '../components/AbortDialog.js';
import { AnswerPrompt } from '../components/AnswerPrompt.js';
import { Checks } from '../components/Checks.js';
import { ContactsPanel } from '../components/ContactsPanel.js';
import { Header } from '../components/Header.js';
import { HelpPanel, type KeyHelp } from '../components/HelpPanel.js';
import { KeyHints } from '../components/KeyHints.js';
import { OutputTail } from '../components/OutputTail.js';
import { ParamPrompt } from '../components/ParamPrompt.js';
import { ProgressBar } from '../components/ProgressBar.js';
import { Spinner } from '../components/Spinner.js';
import { StepList } from '../components/StepList.js';
import { Summary } from '../components/Summary.js';
import { parseDurationText, truncate } from '../format.js';
import { useNow } from '../hooks/useNow.js';
import { useRunSnapshot } from '../hooks/useRunSnapshot.js';
import { useTerminalSize } from '../hooks/useTerminalSize.js';
import { commandFor } from '../key/keyBindings.js';
import { InactiveContext, PRIORITY, useKeypress } from '../key/KeypressContext.js';
import type { RunController, RunSnapshot } from '../state/runController.js';
import type { StartRunOptions, TuiServices } from '../services.js';
import { colors } from '../theme.js';
import { redactText } from '../../redact.js';

type Overlay = 'help' | 'contacts' | 'abort' | undefined;

export const RUN_KEYS: KeyHelp[] = [
  { keys: '↑ ↓ / j k', does: 'move between answers' },
  { keys: 'enter', does: 'take the highlighted answer (the safe or usual one is preselected)' },
  { keys: '?', does: 'explain the current step, and these keys' },
  { keys: 'c', does: 'emergency contacts' },
  { keys: 'q / ctrl-c', does: 'abort the run (asks first and says what aborting does)' },
  { keys: 'esc', does: 'cancel a typed confirmation or close a panel' },
];

/**
 * The runbook screen (container): starts the run through the services, follows the controller's
 * snapshot, owns the overlays, and leaves with the run's exit code.
 */
export function RunbookScreen({
  services,
  controller,
  options,
  onExit,
  onBack,
}: {
  services: TuiServices;
  controller: RunController;
  options: StartRunOptions;
  onExit(code: number): void;
  onBack?(): void;
}) {
  const snapshot = useRunSnapshot(controller);
  const started = useRef(false);
  useEffect(() => {
    if (started.current) return;
    started.current = true;
    services.startRun(options, controller).catch((error: unknown) => {
      controller.fail({ message: redactText(error instanceof Error ? error.message : String(error)), exitCode: 1 });
    });
  }, [services, controller, options]);

  const [overlay, setOverlay] = useState<Overlay>();
  const [exitWanted, setExitWanted] = useState(false);
  // The summary shows as soon as the Runner says run-finished; the session still closes the audit
  // log and copies it to the repository, so leaving waits for that.
  const settled = snapshot.phase === 'finished' || snapshot.phase === 'error';
  const done = settled || Boolean(snapshot.run.finished);
  const exitCode = snapshot.error?.exitCode ?? snapshot.result?.exitCode ?? snapshot.run.finished?.exitCode ?? 0;
  useEffect(() => {
    if (exitWanted && settled) onExit(exitCode);
  }, [exitWanted, settled, exitCode, onExit]);
  const leave = () => setExitWanted(true);
  const contacts: ContactInfo[] = snapshot.run.started?.contacts ?? services.contacts();

  const askAbort = () => {
    if (snapshot.aborting) return;
    setOverlay('abort');
  };

  useKeypress(
    (input, key) => {
      const command = commandFor(input, key, ['interrupt', 'quit', 'confirm', 'help', 'contacts', 'back']);
      if (done) {
        if (command === 'confirm' || command === 'quit' || command === 'interrupt') leave();
        else if (command === 'back' && onBack && settled) onBack();
        else if (command === 'contacts') setOverlay((o) => (o === 'contacts' ? undefined : 'contacts'));
        else return false;
        return true;
      }
      if (command === 'interrupt' || command === 'quit') askAbort();
      else if (command === 'help') setOverlay((o) => (o === 'help' ? undefined : 'help'));
      else if (command === 'contacts') setOverlay((o) => (o === 'contacts' ? undefined : 'contacts'));
      else return false;
      return true;
    },
    { priority: PRIORITY.screen },
  );

  // An open panel owns the keyboard (Ctrl-C still asks to abort).
  useKeypress(
    (input, key) => {
      const command = commandFor(input, key, ['interrupt', 'cancel', 'help', 'contacts', 'quit']);
      if (overlay === 'abort') return true;
      if (command === 'interrupt') {
        if (done) leave();
        else askAbort();
      } else if (command === 'cancel' || (command === 'help' && overlay === 'help') || (command === 'contacts' && overlay === 'contacts')) setOverlay(undefined);
      else if (command === 'help') setOverlay('help');
      else if (command === 'contacts') setOverlay('contacts');
      return true;
    },
    { priority: PRIORITY.overlay - 1, isActive: overlay !== undefined },
  );

  const abortContext: AbortContext = {
    step: snapshot.run.finished ? undefined : snapshot.run.current,
    waiting: Boolean(snapshot.pending),
    preparing: snapshot.phase === 'preparing',
  };

  return (
    <RunbookView
      snapshot={snapshot}
      services={services}
      controller={controller}
      overlay={overlay}
      contacts={contacts}
      exitCode={exitCode}
      canGoBack={Boolean(onBack)}
      leaving={exitWanted && !settled}
      overlayElement={
        overlay === 'abort' ? (
          <AbortDialog
            context={abortContext}
            onAbort={() => {
              setOverlay(undefined);
              if (snapshot.phase === 'preparing' && !snapshot.pending) onExit(130);
              controller.abort('the operator aborted the run');
            }}
            onKeepGoing={() => setOverlay(undefined)}
          />
        ) : overlay === 'contacts' ? (
          <ContactsPanel contacts={contacts} />
        ) : overlay === 'help' ? (
          <HelpPanel title={snapshot.run.current ? `Step: ${snapshot.run.current.title}` : undefined} explain={snapshot.run.current?.explain} describe={snapshot.run.current?.describe} keys={RUN_KEYS} />
        ) : undefined
      }
    />
  );
}

/** The runbook screen's view: everything it draws comes from the snapshot. */
export function RunbookView({
  snapshot,
  services,
  controller,
  overlay,
  overlayElement,
  contacts,
  exitCode,
  canGoBack,
  leaving,
}: {
  snapshot: RunSnapshot;
  services: TuiServices;
  controller: RunController;
  overlay: Overlay;
  overlayElement?: React.ReactNode;
  contacts: ContactInfo[];
  exitCode: number;
  canGoBack: boolean;
  leaving?: boolean;
}) {
  const { columns, rows } = useTerminalSize();
  const width = Math.max(40, columns - 2);
  const { run, pending } = snapshot;
  const running = snapshot.phase === 'running' && !run.finished;
  const now = useNow(1000, running);
  const started = run.started;
  const training = started?.runbook.kind === 'drill';
  const elapsed = run.finished ? run.finished.durationMs : run.startedAt !== undefined ? Math.max(0, now - run.startedAt) : undefined;
  const current = run.current;
  const promptActive = overlay === undefined;
  const busy = running && !pending && current !== undefined && !run.finished;
  const progressShown = Boolean(busy && current?.progress);
  const outputRows = Math.max(0, Math.min(8, rows - run.steps.length - run.rollback.length - (pending ? 20 : 14)));

  return (
    <Box flexDirection="column" width={columns}>
      <Header
        title={started ? started.runbook.title : 'starting…'}
        target={started?.target.label}
        sandbox={started?.target.sandbox}
        dryRun={started?.dryRun}
        training={training}
        clockLabel={started?.runbook.kind === 'routine' ? 'elapsed' : 'RTO clock'}
        elapsedMs={elapsed}
        rtoTargetMs={parseDurationText(started?.runbook.targets.rto)}
        width={width}
      />
      {snapshot.notes.map((note, index) => (
        <Text key={index} dimColor>
          {truncate(note, width)}
        </Text>
      ))}
      {snapshot.phase === 'preparing' && !pending ? (
        <Text>
          <Spinner /> loading the runbook…
        </Text>
      ) : null}
      {run.steps.length ? (
        <Box flexDirection="column" marginTop={1}>
          <StepList steps={run.steps} now={now} width={width} still={progressShown} />
        </Box>
      ) : null}
      {run.rollback.length ? (
        <Box flexDirection="column" marginTop={1}>
          <Text bold color={colors.warn}>
            Rolling back
          </Text>
          <StepList steps={run.rollback} now={now} width={width} still={progressShown} />
        </Box>
      ) : null}
      {current && !run.finished ? (
        <Box flexDirection="column" marginTop={1} borderStyle="single" borderColor={colors.muted} borderLeft={false} borderRight={false} borderBottom={false}>
          <Text bold>
            {current.rollbackOf ? `Rollback of ${current.rollbackOf}: ` : `Step ${current.index + 1}/${current.total}: `}
            {current.title}
          </Text>
          {current.explain && training ? <Text color={colors.muted}>{current.explain.trim()}</Text> : null}
          {current.explain && !training ? <Text dimColor>? explains this step</Text> : null}
          {current.describe && current.type === 'action' ? (
            <Text>
              <Text color={colors.muted}>does: </Text>
              {truncate(current.describe, width - 6)}
            </Text>
          ) : null}
          <Checks checks={current.checks} running={busy && !current.progress} width={width} />
          {current.progress && busy ? <ProgressBar progress={current.progress} width={width} /> : null}
          {current.failures.map((failure) => (
            <Text key={failure.attempt} color={colors.danger}>
              attempt {failure.attempt} failed: {failure.error.message}
              {failure.retriesLeft ? ` (retrying automatically, ${failure.retriesLeft} left)` : ''}
              {failure.error.hint ? <Text color={colors.muted}> hint: {failure.error.hint}</Text> : null}
            </Text>
          ))}
          <OutputTail lines={current.output} max={outputRows} width={width} />
        </Box>
      ) : null}
      {snapshot.aborting && !run.finished ? (
        <Text color={colors.danger}>
          <Spinner /> aborting: {snapshot.aborting}; finishing the current step's cleanup and rollbacks…
        </Text>
      ) : null}
      {pending?.kind === 'answer' && !run.finished ? (
        <Box marginTop={1}>
          <PromptSlot key={promptKey(pending.request)} active={promptActive}>
            <AnswerPrompt request={pending.request} contacts={contacts} onAnswer={controller.respond} />
          </PromptSlot>
        </Box>
      ) : null}
      {pending?.kind === 'param' ? (
        <Box marginTop={1}>
          <PromptSlot key={pending.question.name} active={promptActive}>
            <ParamPrompt question={pending.question} services={services} onSubmit={controller.respondParam} />
          </PromptSlot>
        </Box>
      ) : null}
      {run.finished ? (
        <Box marginTop={1}>
          <Summary
            finished={run.finished}
            runId={run.runId}
            dryRun={started?.dryRun}
            auditFile={snapshot.result?.auditFile}
            uploadError={snapshot.result?.uploadError}
            contacts={contacts}
            exitCode={exitCode}
          />
        </Box>
      ) : null}
      {leaving ? (
        <Text>
          <Spinner /> closing the audit trail and copying it to the repository…
        </Text>
      ) : null}
      {snapshot.phase === 'error' && snapshot.error ? (
        <Box flexDirection="column" marginTop={1} borderStyle="round" borderColor={colors.danger} paddingX={1}>
          <Text color={colors.danger} bold>
            ✗ {snapshot.error.message}
          </Text>
          {snapshot.error.hint ? <Text color={colors.muted}>hint: {snapshot.error.hint}</Text> : null}
          <Text bold>Press enter or q to exit (exit code {snapshot.error.exitCode}).</Text>
        </Box>
      ) : null}
      {overlayElement ? <Box marginTop={1}>{overlayElement}</Box> : null}
      <Box marginTop={1}>
        <KeyHints
          hints={
            run.finished || snapshot.phase === 'error'
              ? [['enter/q', 'exit'], ...(canGoBack ? ([['b', 'back to home']] as Array<[string, string]>) : []), ['c', 'contacts']]
              : [['↑↓', 'move'], ['enter', 'choose'], ['?', 'explain'], ['c', 'contacts'], ['q', 'abort']]
          }
        />
      </Box>
    </Box>
  );
}

/** Keeps a prompt mounted (its typed text survives an open panel) but deaf while a panel is open. */
function PromptSlot({ active, children }: { active: boolean; children: React.ReactNode }) {
  return <InactiveContext.Provider value={!active}>{children}</InactiveContext.Provider>;
}

/** A fresh prompt (fresh typed text, fresh selection) for every question the Runner asks. */
const requestIds = new WeakMap<object, number>();
let nextRequestId = 0;
function promptKey(request: object): string {
  let id = requestIds.get(request);
  if (id === undefined) {
    id = ++nextRequestId;
    requestIds.set(request, id);
  }
  return String(id);
}
