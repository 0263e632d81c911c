import os from 'node:os';

/** Who is acting: --operator, else the user behind sudo, else the OS user. */
export function operatorName(explicit?: string, env: NodeJS.ProcessEnv = process.env): string {
  if (explicit) return explicit;
  if (env.LIFELINE_OPERATOR) return env.LIFELINE_OPERATOR;
  if (env.SUDO_USER) return env.SUDO_USER;
  try {
    return os.userInfo().username;
  } catch {
    return env.USER ?? 'unknown';
  }
}

export const hostName = () => os.hostname();
