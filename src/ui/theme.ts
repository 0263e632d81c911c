import type { StepStatus } from './state/runState.js';

/**
 * Colours and marks in one place. Colour is never the only signal: every state has its own mark,
 * so NO_COLOR (FORCE_COLOR=0 is set before Ink loads, see src/cli/main.ts) loses nothing.
 */
export const colors = {
  accent: 'cyan',
  ok: 'green',
  warn: 'yellow',
  danger: 'red',
  muted: 'gray',
  sandbox: 'green',
  production: 'red',
} as const;

export const stepMarks: Record<StepStatus, { mark: string; color?: string; label: string }> = {
  pending: { mark: '○', color: colors.muted, label: 'pending' },
  running: { mark: '●', color: colors.accent, label: 'running' },
  passed: { mark: '✓', color: colors.ok, label: 'passed' },
  failed: { mark: '✗', color: colors.danger, label: 'failed' },
  skipped: { mark: '↷', color: colors.warn, label: 'skipped' },
  described: { mark: '·', color: colors.muted, label: 'described (dry-run)' },
  interrupted: { mark: '‖', color: colors.warn, label: 'interrupted' },
  aborted: { mark: '✗', color: colors.danger, label: 'aborted' },
};
