import { Box, Text } from 'ink';
import SelectInput from 'ink-select-input';
import React, { useMemo, useState } from 'react';
import { ContactsPanel } from '../components/ContactsPanel.js';
import { HelpPanel } from '../components/HelpPanel.js';
import { KeyHints } from '../components/KeyHints.js';
import { usePanelKeys } from '../components/Overlay.js';
import { formatAge, formatBytes } from '../format.js';
import { useAsync } from '../hooks/useAsync.js';
import { useTerminalSize } from '../hooks/useTerminalSize.js';
import { commandFor } from '../key/keyBindings.js';
import { PRIORITY, useKeypress } from '../key/KeypressContext.js';
import type { Health, Overview, RunbookSummary, TuiServices } from '../services.js';
import { colors } from '../theme.js';

export type HomeChoice = { kind: 'runbook'; id: string } | { kind: 'backups' } | { kind: 'status' } | { kind: 'audit' } | { kind: 'quit' };

/** Shipped runbooks in the order people under stress look for them. */
const PREFERRED = ['full-recovery', 'pitr', 'provider-pitr', 'drill', 'pre-deploy-backup', 'verify-backup'];

export function orderRunbooks(runbooks: RunbookSummary[]): RunbookSummary[] {
  const rank = (r: RunbookSummary) => {
    const preferred = PREFERRED.indexOf(r.id);
    if (r.source === 'shipped' && preferred >= 0) return preferred;
    return r.source === 'shipped' ? 100 : 200;
  };
  // By id within a rank: the order does not change when the validated titles replace the quick ones.
  return [...runbooks].sort((a, b) => rank(a) - rank(b) || a.id.localeCompare(b.id));
}

export const HOME_KEYS = [
  { keys: '↑ ↓ / j k', does: 'move' },
  { keys: 'enter', does: 'open the highlighted entry' },
  { keys: '1-9', does: 'open an entry by its number' },
  { keys: 'c', does: 'emergency contacts' },
  { keys: '?', does: 'this help' },
  { keys: 'q / ctrl-c', does: 'quit' },
];

/** Home: what lifeline points at, how healthy the backups are, and what to do next. */
export function HomeScreen({ services, onChoose }: { services: TuiServices; onChoose(choice: HomeChoice): void }) {
  const overview = useAsync(() => services.overview(), []);
  const health = useAsync(() => services.health(), []);
  const quick = useMemo(() => services.quickRunbooks?.() ?? [], [services]);
  const runbooks = useAsync(() => services.loadRunbooks(), []);
  const listed = runbooks.status === 'ready' ? runbooks.value : quick;
  const [panel, setPanel] = useState<'help' | 'contacts'>();
  const [problem, setProblem] = useState<string>();
  const { columns } = useTerminalSize();
  usePanelKeys(panel, () => setPanel(undefined));

  useKeypress(
    (input, key) => {
      const command = commandFor(input, key, ['quit', 'interrupt', 'help', 'contacts']);
      if (command === 'quit' || command === 'interrupt') onChoose({ kind: 'quit' });
      else if (command === 'help') setPanel('help');
      else if (command === 'contacts') setPanel('contacts');
      else return false;
      return true;
    },
    { priority: PRIORITY.screen },
  );

  const items = useMemo(() => {
    const list = orderRunbooks(listed).map((runbook) => ({
      label: `${runbook.title}${runbook.problem ? '  (invalid: see `lifeline runbooks validate`)' : ''}${runbook.source === 'user' ? '  [yours]' : ''}`,
      value: `runbook:${runbook.id}`,
    }));
    list.push({ label: 'Backups: list, details, verification history', value: 'backups' });
    list.push({ label: 'Status: health against the policy', value: 'status' });
    list.push({ label: 'Audit logs: past runs and their reports', value: 'audit' });
    list.push({ label: 'Quit', value: 'quit' });
    return list;
  }, [listed]);

  const select = (value: string) => {
    if (value.startsWith('runbook:')) {
      const id = value.slice('runbook:'.length);
      const runbook = listed.find((r) => r.id === id);
      if (runbook?.problem) {
        setProblem(`${runbook.title}: ${runbook.problem}`);
        return;
      }
      onChoose({ kind: 'runbook', id });
    } else onChoose({ kind: value as 'backups' | 'status' | 'audit' | 'quit' });
  };

  return (
    <Box flexDirection="column" width={columns}>
      <Text bold color={colors.accent}>
        lifeline · guided PostgreSQL backup and recovery
      </Text>
      <OverviewLine overview={overview.status === 'ready' ? overview.value : undefined} error={overview.status === 'error' ? overview.message : undefined} />
      <HealthLines health={health.status === 'ready' ? health.value : undefined} error={health.status === 'error' ? health.message : undefined} />
      <Box flexDirection="column" marginTop={1}>
        <Text bold>What do you need?</Text>
        {runbooks.status === 'loading' && quick.length === 0 ? <Text dimColor>reading the runbooks…</Text> : null}
        {runbooks.status === 'error' ? <Text color={colors.danger}>Cannot read the runbooks: {runbooks.message}</Text> : null}
        <SelectInput items={items} isFocused={panel === undefined} onSelect={(item) => select(item.value)} />
      </Box>
      {problem ? <Text color={colors.danger}>{problem}</Text> : null}
      {panel === 'help' ? <HelpPanel keys={HOME_KEYS} /> : null}
      {panel === 'contacts' ? <ContactsPanel contacts={services.contacts()} /> : null}
      <Box marginTop={1}>
        <KeyHints hints={[['↑↓', 'move'], ['enter', 'open'], ['1-9', 'pick'], ['?', 'help'], ['c', 'contacts'], ['q', 'quit']]} />
      </Box>
    </Box>
  );
}

function OverviewLine({ overview, error }: { overview?: Overview; error?: string }) {
  if (error) return <Text color={colors.danger}>Configuration problem: {error}</Text>;
  // Placeholders as tall as what replaces them, so the menu below does not move.
  if (!overview) return <Text dimColor>{'reading the configuration…\n'}</Text>;
  return (
    <Box flexDirection="column">
      <Text>
        <Text color={overview.sandbox ? colors.sandbox : colors.production} bold inverse>
          {overview.sandbox ? ' SANDBOX ' : ' TARGET '}
        </Text>
        <Text> {overview.target}</Text>
        {overview.sandbox ? <Text dimColor>  (a local practice cluster: nothing real is touched)</Text> : null}
      </Text>
      <Text>
        <Text color={colors.muted}>repository </Text>
        {overview.repository}
        <Text color={colors.muted}>  operator </Text>
        {overview.operator}
      </Text>
    </Box>
  );
}

function HealthLines({ health, error }: { health?: Health; error?: string }) {
  if (error) return <Text color={colors.warn}>Health unknown: {error}</Text>;
  if (!health) return <Text dimColor>{'checking the repository…\n'}</Text>;
  const { lastBackup, lastVerification, window, lastDrill } = health;
  return (
    <Box flexDirection="column">
      <Text>
        <Text color={colors.muted}>last backup </Text>
        {lastBackup ? `${formatAge(lastBackup.finishedAt)} (${lastBackup.id}, ${formatBytes(lastBackup.sizeBytes)}, ${lastBackup.verifiedLevel ? `verified: ${lastBackup.verifiedLevel}` : 'not verified'})` : 'none yet'}
        <Text color={colors.muted}>  last verification </Text>
        {lastVerification ? `${formatAge(lastVerification.finishedAt)} ${lastVerification.ok ? 'passed' : 'FAILED'}${lastVerification.level ? ` (${lastVerification.level})` : ''}` : 'never'}
      </Text>
      <Text>
        <Text color={colors.muted}>recoverable window </Text>
        {window ? `${window.from} → ${window.to}` : 'none (no base backup with archived WAL)'}
        <Text color={colors.muted}>  last drill </Text>
        {lastDrill ? `${formatAge(lastDrill.startedAt)} ${lastDrill.outcome}` : 'never'}
      </Text>
      {health.warnings.map((warning) => (
        <Text key={warning} color={colors.warn}>
          ⚠ {warning}
        </Text>
      ))}
    </Box>
  );
}
