// What the bench ran on, for the report.
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { nginxVersion } from './nginx.ts';
import { runPinned } from './processes.ts';
import { ROOT } from './proxies.ts';
import type { MachineInfo } from './report.ts';

export async function machineInfo(): Promise<MachineInfo> {
  const cpuinfo = readFileSync('/proc/cpuinfo', 'utf8');
  const wrkV = await runPinned(undefined, 'wrk', ['-v']);
  const acPkg = JSON.parse(readFileSync(join(ROOT, 'node_modules', 'autocannon', 'package.json'), 'utf8')) as { version: string };
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
  // Read-only: which commit was measured (none before the first commit).
  const head = await runPinned(undefined, 'git', ['-C', ROOT, 'rev-parse', '--short', 'HEAD']).catch(() => undefined);
  return {
    date: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    nproc: os.availableParallelism(),
    cpuModel: /^model name\s*:\s*(.*)$/m.exec(cpuinfo)?.[1]?.trim() ?? 'unknown',
    kernel: `${os.type()} ${os.release()}`,
    node: process.version,
    nginx: await nginxVersion(),
    wrk: (wrkV.stdout + wrkV.stderr).split('\n')[0]?.replace(/\s*Copyright.*$/, '').trim() ?? 'wrk',
    autocannon: acPkg.version,
    cortex: `${pkg.version}, commit ${head?.code === 0 ? head.stdout.trim() : '(none yet)'} plus uncommitted changes, if any`,
    loadAvg: os.loadavg().map((l) => l.toFixed(2)).join(' '),
  };
}
