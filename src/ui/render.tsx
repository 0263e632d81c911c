import { render } from 'ink';
import React from 'react';
import { App, type InitialRoute } from './App.js';
import type { TuiServices } from './services.js';

/**
 * The one function the CLI calls to show the TUI (after decideTui said yes): renders the app,
 * waits until it exits, and gives back the exit code to leave with.
 */
export async function renderTui({ services, initial, stdin = process.stdin, stdout = process.stdout }: { services: TuiServices; initial: InitialRoute; stdin?: NodeJS.ReadStream; stdout?: NodeJS.WriteStream }): Promise<number> {
  let code = 0;
  const instance = render(
    <App
      services={services}
      initial={initial}
      onExit={(exitCode) => {
        code = exitCode;
        instance.unmount();
      }}
    />,
    // Ctrl-C is ours: it asks before aborting a run.
    { stdin, stdout, exitOnCtrlC: false, patchConsole: true },
  );
  await instance.waitUntilExit();
  return code;
}
