import React, { useState } from 'react';
import { KeypressProvider } from './key/KeypressContext.js';
import { AuditScreen } from './screens/AuditScreen.js';
import { BackupsScreen } from './screens/BackupsScreen.js';
import { HomeScreen, type HomeChoice } from './screens/HomeScreen.js';
import { RunbookScreen } from './screens/RunbookScreen.js';
import { StatusScreen } from './screens/StatusScreen.js';
import type { StartRunOptions, TuiServices } from './services.js';
import { createRunController, type RunController } from './state/runController.js';

export type Route =
  | { name: 'home' }
  | { name: 'run'; options: StartRunOptions; controller: RunController; fromHome: boolean }
  | { name: 'backups' | 'status' | 'audit' };

export type InitialRoute = { name: 'home' } | { name: 'run'; options: StartRunOptions };

export function routeFor(initial: InitialRoute): Route {
  return initial.name === 'run' ? { name: 'run', options: initial.options, controller: createRunController(), fromHome: false } : initial;
}

/** The screens and how one leads to another; exit codes leave through onExit. */
export function App({ services, initial, onExit }: { services: TuiServices; initial: InitialRoute; onExit(code: number): void }) {
  const [route, setRoute] = useState<Route>(() => routeFor(initial));
  const home = () => setRoute({ name: 'home' });
  const choose = (choice: HomeChoice) => {
    if (choice.kind === 'quit') onExit(0);
    else if (choice.kind === 'runbook') setRoute({ name: 'run', options: { runbook: choice.id }, controller: createRunController(), fromHome: true });
    else setRoute({ name: choice.kind });
  };
  return (
    <KeypressProvider>
      {route.name === 'home' ? <HomeScreen services={services} onChoose={choose} /> : null}
      {route.name === 'run' ? (
        <RunbookScreen services={services} controller={route.controller} options={route.options} onExit={onExit} onBack={route.fromHome ? home : undefined} />
      ) : null}
      {route.name === 'backups' ? <BackupsScreen services={services} onBack={home} /> : null}
      {route.name === 'status' ? <StatusScreen services={services} onBack={home} /> : null}
      {route.name === 'audit' ? <AuditScreen services={services} onBack={home} /> : null}
    </KeypressProvider>
  );
}
