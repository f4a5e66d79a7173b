// Start and stop the processes a bench run needs: every child is pinned to a core with
// `taskset -c N`, runs in its own process group, logs to a file under bench/.work/, and is
// registered so that it is stopped on normal exit, on error and on Ctrl-C.
import { spawn, type ChildProcess } from 'node:child_process';
import { openSync, closeSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

export interface Started {
  readonly name: string;
  readonly child: ChildProcess;
  readonly pid: number;
  readonly logFile: string;
  /** Resolves with the exit code (or signal name) once the process has exited. */
  readonly exited: Promise<number | string>;
  hasExited(): boolean;
}

export interface StartOptions {
  name: string;
  cpu: number;
  command: string;
  args: readonly string[];
  logFile: string;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
}

const running = new Set<Started>();
/** Set once a signal asked us to stop: nothing new is started after that. */
let shuttingDown = false;

function refuseIfStopping(what: string): void {
  if (shuttingDown) throw new Error(`not starting ${what}: the bench is stopping`);
}

let niceness = 0;
/**
 * Runs every pinned process at this niceness (negative = higher priority, needs root), so that other
 * work on a shared machine (a compiler, a test run) takes less from the measured cores.
 */
export function setNiceness(n: number): void {
  niceness = n;
}

/**
 * With scheduler autogroups (kernel.sched_autogroup_enabled=1), niceness only counts inside a
 * session, and every detached child is a session of its own: give its autogroup the same niceness.
 */
function prioritize(pid: number): void {
  if (niceness === 0) return;
  try {
    writeFileSync(`/proc/${pid}/autogroup`, String(niceness));
  } catch {
    // no autogroups on this kernel, or not allowed: plain nice still applies
  }
}

/** taskset -c cpu [nice -n N] command ...args */
function pinned(cpu: number, command: string, args: readonly string[]): [string, string[]] {
  const nice = niceness === 0 ? [] : ['nice', '-n', String(niceness)];
  return ['taskset', ['-c', String(cpu), ...nice, command, ...args]];
}

/** Spawns `taskset -c <cpu> [nice -n N] command ...args` in a new process group, stdout+stderr to logFile. */
export function startPinned(opts: StartOptions): Started {
  refuseIfStopping(opts.name);
  const fd = openSync(opts.logFile, 'a');
  let child: ChildProcess;
  try {
    const [cmd, argv] = pinned(opts.cpu, opts.command, opts.args);
    child = spawn(cmd, argv, {
      cwd: opts.cwd,
      env: opts.env ?? process.env,
      stdio: ['ignore', fd, fd],
      detached: true, // own process group: Ctrl-C in the terminal does not reach it, we stop it
    });
  } finally {
    closeSync(fd);
  }
  if (child.pid === undefined) throw new Error(`could not start ${opts.name} (${opts.command})`);
  prioritize(child.pid);
  let done = false;
  const exited = new Promise<number | string>((resolve) => {
    child.once('exit', (code, signal) => {
      done = true;
      running.delete(started);
      resolve(code ?? signal ?? 'unknown');
    });
    child.once('error', (err) => {
      done = true;
      running.delete(started);
      resolve(`spawn error: ${err.message}`);
    });
  });
  const started: Started = {
    name: opts.name,
    child,
    pid: child.pid,
    logFile: opts.logFile,
    exited,
    hasExited: () => done,
  };
  running.add(started);
  return started;
}

/** SIGTERM to the process group, SIGKILL after graceMs. */
export async function stop(p: Started, graceMs = 5_000): Promise<void> {
  if (p.hasExited()) return;
  signalGroup(p.pid, 'SIGTERM');
  const timer = sleep(graceMs).then(() => 'timeout' as const);
  if ((await Promise.race([p.exited, timer])) === 'timeout') {
    signalGroup(p.pid, 'SIGKILL');
    await p.exited;
  }
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      // already gone
    }
  }
}

export async function stopAll(): Promise<void> {
  await Promise.all([...running].map((p) => stop(p)));
}

let handlersInstalled = false;
/** On exit, SIGINT, SIGTERM and uncaught errors, stop every process this module started. */
export function installCleanupHandlers(): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  // 'exit' handlers must be synchronous: kill whatever is left outright.
  process.on('exit', () => {
    for (const p of running) signalGroup(p.pid, 'SIGKILL');
  });
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(sig, () => {
      shuttingDown = true;
      console.error(`\n${sig}: stopping ${running.size} process(es) started by the bench...`);
      void stopAll().finally(() => process.exit(130));
    });
  }
}

/** A free TCP port on host (the kernel picks it; released before returning). */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.once('error', reject);
    srv.listen(0, host, () => {
      const addr = srv.address();
      srv.close(() => {
        if (addr !== null && typeof addr === 'object') resolve(addr.port);
        else reject(new Error('no port'));
      });
    });
  });
}

function canConnect(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host, port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/** Waits until host:port accepts connections; fails early (with the log's tail) if p exits. */
export async function waitForPort(p: Started, host: string, port: number, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (p.hasExited()) {
      throw new Error(`${p.name} exited (${String(await p.exited)}) before listening on ${host}:${port}\n${tail(p.logFile)}`);
    }
    if (await canConnect(host, port)) return;
    await sleep(50);
  }
  throw new Error(`${p.name} did not listen on ${host}:${port} within ${timeoutMs} ms\n${tail(p.logFile)}`);
}

export function tail(file: string, lines = 30): string {
  try {
    const text = readFileSync(file, 'utf8').trimEnd();
    return text.split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

/** Runs a command to completion (pinned when cpu is given), collecting stdout and stderr. */
export function runPinned(
  cpu: number | undefined,
  command: string,
  args: readonly string[],
  opts: { cwd?: string; timeoutMs?: number } = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  refuseIfStopping(command);
  return new Promise((resolve, reject) => {
    const [cmd, argv] = cpu === undefined ? [command, args] : pinned(cpu, command, args);
    const child = spawn(cmd, argv, { cwd: opts.cwd, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    if (child.pid === undefined) {
      child.once('error', reject);
      return;
    }
    if (cpu !== undefined) prioritize(child.pid);
    // Registered like a long-running process so that Ctrl-C stops it too.
    const exited = new Promise<number | string>((res) => child.once('close', (c, s) => res(c ?? s ?? 'unknown')));
    const entry: Started = {
      name: command,
      child,
      pid: child.pid,
      logFile: '',
      exited,
      hasExited: () => child.exitCode !== null || child.signalCode !== null,
    };
    running.add(entry);
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer =
      opts.timeoutMs === undefined ? undefined : setTimeout(() => signalGroup(child.pid!, 'SIGKILL'), opts.timeoutMs);
    child.once('error', (err) => {
      running.delete(entry);
      clearTimeout(timer);
      reject(err);
    });
    child.once('close', (code) => {
      running.delete(entry);
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

// ---- CPU accounting from /proc, to tell whether the proxy (core 0) was the bottleneck ----

export interface CpuSample {
  /**
   * Per-core jiffies from /proc/stat: busy (all but idle/iowait; steal included), task (user, nice,
   * system: time in processes, which excludes the interrupt and softirq work of our own traffic),
   * steal and total.
   */
  cores: Map<number, { busy: number; task: number; steal: number; total: number }>;
  /** utime+stime jiffies of the watched process tree (none watched: undefined). */
  procJiffies?: number;
  atMs: number;
}

function readCores(): CpuSample['cores'] {
  const cores: CpuSample['cores'] = new Map();
  for (const line of readFileSync('/proc/stat', 'utf8').split('\n')) {
    const m = /^cpu(\d+)\s+(.*)$/.exec(line);
    if (!m) continue;
    const v = m[2]!.trim().split(/\s+/).map(Number);
    const total = v.slice(0, 8).reduce((a, b) => a + b, 0); // user..steal
    const idle = (v[3] ?? 0) + (v[4] ?? 0); // idle + iowait
    const task = (v[0] ?? 0) + (v[1] ?? 0) + (v[2] ?? 0);
    cores.set(Number(m[1]), { busy: total - idle, task, steal: v[7] ?? 0, total });
  }
  return cores;
}

function procStat(pid: number): { ppid: number; jiffies: number } | undefined {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const rest = s.slice(s.lastIndexOf(')') + 2).split(' '); // fields from #3 (state) on
    return { ppid: Number(rest[1]), jiffies: Number(rest[11]) + Number(rest[12]) }; // #14 utime, #15 stime
  } catch {
    return undefined;
  }
}

/** utime+stime of pid and all its descendants (nginx master + worker). */
function treeJiffies(root: number): number {
  const children = new Map<number, number[]>();
  const jiffies = new Map<number, number>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const st = procStat(Number(name));
    if (!st) continue;
    jiffies.set(Number(name), st.jiffies);
    const list = children.get(st.ppid) ?? [];
    list.push(Number(name));
    children.set(st.ppid, list);
  }
  let sum = 0;
  const stack = [root];
  while (stack.length > 0) {
    const pid = stack.pop()!;
    sum += jiffies.get(pid) ?? 0;
    stack.push(...(children.get(pid) ?? []));
  }
  return sum;
}

export function sampleCpu(pid: number | undefined): CpuSample {
  return { cores: readCores(), procJiffies: pid === undefined ? undefined : treeJiffies(pid), atMs: performance.now() };
}

const CLK_TCK = 100; // Linux USER_HZ

export interface CpuUse {
  /** Busy % of each core (everything that was not idle, steal included). */
  cores: Record<number, number>;
  /** Steal % of each core (time the hypervisor gave to someone else). */
  steal: Record<number, number>;
  /** % of each core spent in processes (user, nice, system), interrupt and softirq work excluded. */
  task: Record<number, number>;
  /** The watched process tree's user+system time, as % of one core (absent when none was watched). */
  processPct?: number;
}

/** Busy and steal % of each core, and of the process tree as % of one core, between two samples. */
export function cpuBetween(a: CpuSample, b: CpuSample): CpuUse {
  const cores: Record<number, number> = {};
  const steal: Record<number, number> = {};
  const task: Record<number, number> = {};
  for (const [id, end] of b.cores) {
    const start = a.cores.get(id);
    if (!start || end.total === start.total) continue;
    const span = end.total - start.total;
    cores[id] = (100 * (end.busy - start.busy)) / span;
    steal[id] = (100 * (end.steal - start.steal)) / span;
    task[id] = (100 * (end.task - start.task)) / span;
  }
  const seconds = (b.atMs - a.atMs) / 1000;
  const use: CpuUse = { cores, steal, task };
  if (a.procJiffies !== undefined && b.procJiffies !== undefined && seconds > 0) {
    use.processPct = (100 * (b.procJiffies - a.procJiffies)) / CLK_TCK / seconds;
  }
  return use;
}

/**
 * Waits (up to maxWaitMs) until neither core is busier than thresholdPct over a 1 s sample while
 * our own processes are idle, i.e. until nobody else (a test run, a compiler) is using the machine.
 * Returns the last sample's busy % per core, so the report can say how quiet it was.
 */
export async function waitForQuiet(maxWaitMs: number, thresholdPct = 10): Promise<{ busy: Record<number, number>; waitedMs: number }> {
  const t0 = performance.now();
  for (;;) {
    const a = sampleCpu(undefined);
    await sleep(1000);
    const use = cpuBetween(a, sampleCpu(undefined));
    const waitedMs = performance.now() - t0;
    if (Object.values(use.cores).every((b) => b <= thresholdPct) || waitedMs >= maxWaitMs) return { busy: use.cores, waitedMs };
  }
}
