import { Box, Text } from 'ink';
import React, { useMemo, useState } from 'react';
import { parseTimestamp } from '../../runbook/params.js';
import { formatTime } from '../format.js';
import { colors } from '../theme.js';
import { TextInput } from './TextInput.js';

/** "2026-11-24T21:30:00Z": now, to the minute, as a starting point the operator edits. */
export function defaultTimestamp(now = Date.now()): string {
  return new Date(Math.floor(now / 60_000) * 60_000).toISOString().replace(/\.000Z$/, 'Z');
}

export type TimestampCheck = { ok: true; iso: string } | { ok: false; message: string };

export function checkTimestamp(name: string, text: string): TimestampCheck {
  try {
    return { ok: true, iso: parseTimestamp(name, text.trim()) };
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    // "Param "x": "..." is not a time lifeline can trust (no UTC offset)." → the reason only.
    const reason = /\(([^()]*)\)\.?$/.exec(message)?.[1];
    return { ok: false, message: reason ?? message };
  }
}

/**
 * A point in time, validated as it is typed, and read back in UTC and the configured zone so
 * the operator sees exactly which moment the recovery aims at. Enter only accepts a valid time.
 */
export function TimestampInput({
  name,
  description,
  initial,
  zone,
  onSubmit,
  onCancel,
}: {
  name: string;
  description?: string;
  initial?: string;
  zone?: string;
  onSubmit(value: string): void;
  onCancel?(): void;
}) {
  const [value, setValue] = useState(initial ?? defaultTimestamp());
  const [tried, setTried] = useState(false);
  const check = useMemo(() => checkTimestamp(name, value), [name, value]);
  return (
    <Box flexDirection="column">
      <Text>
        <Text bold>{name}</Text>
        {description ? <Text>: {description}</Text> : null}
      </Text>
      <Text dimColor>ISO 8601 with an offset, e.g. 2026-11-24T21:30:00+01:00 or 2026-11-24T20:30:00Z</Text>
      <Box>
        <Text color={colors.accent}>❯ </Text>
        <TextInput
          value={value}
          onChange={(next) => {
            setValue(next);
            setTried(false);
          }}
          onSubmit={(text) => {
            const submitted = checkTimestamp(name, text);
            if (submitted.ok) onSubmit(submitted.iso);
            else setTried(true);
          }}
          onCancel={onCancel}
        />
      </Box>
      {check.ok ? (
        <Text color={colors.ok}>= {formatTime(check.iso, zone)}</Text>
      ) : (
        <Text color={tried ? colors.danger : colors.warn}>
          {tried ? 'Not accepted: ' : ''}
          {check.message}
        </Text>
      )}
    </Box>
  );
}
