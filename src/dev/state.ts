// `cortex dev` keeps everything it makes under .cortex/dev/ in the working directory, so that
// flagless CLI commands find the running dev gateway and its admin token.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

export interface DevState {
  gatewayUrl: string;
  adminUrl: string;
  ordersUrl: string;
  pid: number;
  startedAt: string;
}

export function devDir(cwd = process.cwd()): string {
  return resolve(cwd, '.cortex', 'dev');
}

/** The admin token, generated once and kept (mode 0600) so the dashboard and CLI keep working. */
export function devAdminToken(dir = devDir()): string {
  const file = join(dir, 'admin-token');
  if (existsSync(file)) {
    const token = readFileSync(file, 'utf8').trim();
    if (token.length >= 16) return token;
  }
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const token = 'cxa_' + randomBytes(24).toString('base64url');
  writeFileSync(file, token + '\n', { mode: 0o600 });
  return token;
}

export function writeDevState(state: DevState, dir = devDir()): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  writeFileSync(join(dir, 'state.json'), JSON.stringify(state, null, 2) + '\n', { mode: 0o600 });
}

export function readDevState(dir = devDir()): DevState | undefined {
  try {
    return JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8')) as DevState;
  } catch {
    return undefined;
  }
}
