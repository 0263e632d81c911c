import { lifelinePaths, type LifelinePaths } from '../config/paths.js';
import { loadConfig } from '../config/store.js';
import type { Config, TargetConfig } from '../config/schema.js';
import { resolveRepo, resolveTarget, type ResolvedTarget, type RepoLocation } from '../config/resolve.js';
import type { ConnInfo } from '../postgres/conninfo.js';
import { createOutput, type Output } from './output.js';

/** Options every command accepts (commander's global options). */
export interface GlobalOptions {
  json?: boolean;
  plain?: boolean;
  db?: string;
  target?: string;
  repo?: string;
}

/** A target to work on; `settings` when it is a configured target (its preset and scope). */
export interface ConnectedTarget {
  conn: ConnInfo;
  label: string;
  sandbox: boolean;
  settings?: TargetConfig;
}

/** What a command needs to know about its surroundings; built once per invocation. */
export interface Context {
  paths: LifelinePaths;
  config: Config;
  out: Output;
  env: NodeJS.ProcessEnv;
  /** --plain: line output, never the TUI. */
  plain: boolean;
  target(): ResolvedTarget;
  repo(): RepoLocation;
  /** The connection for the resolved target, bringing the sandbox up when it is the target. */
  connect(): Promise<ConnectedTarget>;
  signal: AbortSignal;
}

export function createContext(options: GlobalOptions, signal: AbortSignal, env: NodeJS.ProcessEnv = process.env): Context {
  const paths = lifelinePaths(env);
  // Read on first use: `config path` and `config set` must work while the file is broken.
  let loaded: Config | undefined;
  const config = () => (loaded ??= loadConfig(paths));
  const out = createOutput(Boolean(options.json));
  return {
    paths,
    get config() {
      return config();
    },
    out,
    env,
    plain: Boolean(options.plain),
    signal,
    target: () => resolveTarget(config(), options, env),
    repo: () => resolveRepo(config(), paths, options.repo, env),
    async connect() {
      const target = resolveTarget(config(), options, env);
      if (target.kind === 'sandbox') {
        const { ensureSandbox } = await import('../postgres/sandbox.js');
        const sandbox = await ensureSandbox({ paths, signal, onNote: (text) => out.note(text) });
        return { conn: sandbox.conn, label: `sandbox (${sandbox.dataDir})`, sandbox: true };
      }
      const { describeConn } = await import('../postgres/conninfo.js');
      return { conn: target.conn, label: `${describeConn(target.conn)} [${target.source}]`, sandbox: false, settings: target.settings };
    },
  };
}
