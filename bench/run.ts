// npm run bench [-- --quick] [--duration 15] [--only nginx,bare,cortex] [--scenario passthrough] [--rate N]
//
// Measures Cortex beside nginx and a bare undici proxy, every proxy pinned alone to core 0, the
// upstream and the load generators on core 1, and writes bench/RESULTS.md. Everything it starts
// lives under bench/.work/ and is stopped on exit, on error and on Ctrl-C.
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { Agent, request } from 'undici';
import { ensureLocalTls } from '../src/dev/tls.ts';
import { runFixedRate } from './lib/fixed-rate.ts';
import { runH2load } from './lib/h2load.ts';
import { ensureTools, renderUpstreamConf, startNginx } from './lib/nginx.ts';
import {
  installCleanupHandlers,
  cpuBetween,
  freePort,
  sampleCpu,
  setNiceness,
  type CpuUse,
  stop,
  stopAll,
  waitForQuiet,
} from './lib/processes.ts';
import { ROOT, startProxy, type RunningProxy } from './lib/proxies.ts';
import { machineInfo } from './lib/machine.ts';
import {
  renderConsole,
  renderMarkdown,
  type BenchRun,
  type Method,
  type ProxyResult,
  type ScenarioResult,
} from './lib/report.ts';
import { runWrk, writeWrkScripts, wrkErrorCount, type WrkResult, type WrkScripts } from './lib/wrk.ts';
import { PROXY_LABEL, scenarios, tlsFiles, type Prepared, type ProxyId, type Scenario, type ScenarioContext } from './scenarios.ts';

const PROXY_CPU = 0;
const LOAD_CPU = 1;
const WORK = join(ROOT, 'bench', '.work');
/** Cortex first: its maximum sets the fixed rate for everyone. 'direct' calibrates the load core. */
const ORDER: readonly ProxyId[] = ['cortex', 'bare', 'nginx', 'direct'];
const REPORT_ORDER: readonly ProxyId[] = ['nginx', 'bare', 'cortex', 'direct'];

const QUIET_PCT = 10;
/** A measurement is repeated (up to MAX_RETRIES times) when other work took more than this % of the proxy core. */
const FOREIGN_PCT = 15;
const MAX_RETRIES = 2;

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    duration: { type: 'string' },
    warmup: { type: 'string' },
    'fixed-duration': { type: 'string' },
    connections: { type: 'string', default: '50' },
    streams: { type: 'string', default: '10' },
    only: { type: 'string' },
    scenario: { type: 'string' },
    rate: { type: 'string' },
    out: { type: 'string' },
    'quiet-wait': { type: 'string' },
    nice: { type: 'string', default: '-15' },
    help: { type: 'boolean', default: false },
  },
});

if (args.help) {
  console.log(`usage: npm run bench -- [options]
  --quick                 short smoke run (1 s warm-up, 3 s measured, 3 s fixed rate)
  --duration S            measured wrk run, seconds (default 15)
  --warmup S              wrk warm-up, seconds (default 5)
  --fixed-duration S      each half-load run (autocannon, then paced wrk), seconds (default 10)
  --connections N         wrk, h2load and autocannon connections (default 50)
  --streams N             HTTP/2 scenarios: concurrent streams per h2load connection (default 10)
  --only LIST             what to run, of: ${ORDER.join(',')} (direct = no proxy, calibration; default: all)
  --scenario LIST         scenarios to run, of: ${scenarios.map((s) => s.name).join(',')} (default: all;
                          a scenario compared with another, as the bearer ones with passthrough, brings it along)
  --rate N                fixed rate in requests/s (default: half of Cortex's measured maximum)
  --quiet-wait S          before each proxy, wait up to S seconds for other load to stop (default 30, quick 5)
  --nice N                niceness of every process the bench starts (default -15 when root; 0 to disable)
  --out FILE              report file (default bench/RESULTS.md; bench/.work/RESULTS.partial.md with --quick, --only or --scenario)`);
  process.exit(0);
}

function num(v: string | undefined, dflt: number, name: string): number {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`--${name} must be a positive number, got ${v}`);
  return n;
}

const method: Method = {
  quick: args.quick,
  proxyCpu: PROXY_CPU,
  loadCpu: LOAD_CPU,
  connections: num(args.connections, 50, 'connections'),
  warmupS: num(args.warmup, args.quick ? 1 : 5, 'warmup'),
  durationS: num(args.duration, args.quick ? 3 : 15, 'duration'),
  fixedDurationS: num(args['fixed-duration'], args.quick ? 3 : 10, 'fixed-duration'),
  fixedConnections: num(args.connections, 50, 'connections'),
  fixedWarmupS: args.quick ? 1 : 2,
  niceness: 0,
};

const streams = num(args.streams, 10, 'streams');

const quietWaitMs = 1000 * num(args['quiet-wait'], args.quick ? 5 : 30, 'quiet-wait');

function list<T extends string>(v: string | undefined, allowed: readonly T[], name: string): T[] {
  if (v === undefined) return [...allowed];
  const items = v.split(',').map((s) => s.trim()).filter(Boolean);
  for (const i of items) if (!allowed.includes(i as T)) throw new Error(`--${name}: unknown ${i} (known: ${allowed.join(', ')})`);
  return items as T[];
}

/** One request that must answer 200 "ok\n"; over https, trusting only the run's CA (ca: its PEM). */
async function sanity(url: string, headers: Record<string, string>, ca?: string): Promise<void> {
  const dispatcher = ca === undefined ? undefined : new Agent({ connect: { ca } });
  try {
    const res = await request(url, { headers, ...(dispatcher === undefined ? {} : { dispatcher }) });
    const body = await res.body.text();
    if (res.statusCode !== 200 || body !== 'ok\n') {
      throw new Error(`sanity request ${url} answered ${res.statusCode} ${JSON.stringify(body.slice(0, 300))}`);
    }
  } finally {
    await dispatcher?.close();
  }
}

function countLines(file: string): number {
  if (!existsSync(file)) return 0;
  const buf = readFileSync(file);
  let n = 0;
  for (const b of buf) if (b === 10) n++;
  return n;
}

/**
 * Runs one measurement, watching the proxy core: when something other than the proxy took more than
 * FOREIGN_PCT of it (someone's compiler or test run), waits for quiet and measures again.
 */
async function guarded<T>(
  what: string,
  pid: number | undefined,
  fn: () => Promise<T>,
): Promise<{ value: T; cpu: CpuUse; retries: number; discarded: T[] }> {
  const discarded: T[] = [];
  for (let attempt = 0; ; attempt++) {
    const before = sampleCpu(pid);
    const value = await fn();
    const cpu = cpuBetween(before, sampleCpu(pid));
    const foreign = (cpu.task[PROXY_CPU] ?? 0) - (cpu.processPct ?? 0);
    if (pid === undefined || foreign <= FOREIGN_PCT || attempt >= MAX_RETRIES) return { value, cpu, retries: attempt, discarded };
    discarded.push(value);
    console.log(`${what}: other processes took ~${Math.round(foreign)}% of core ${PROXY_CPU}; waiting for quiet and measuring again`);
    await waitForQuiet(quietWaitMs, QUIET_PCT);
  }
}

async function measureProxy(
  id: ProxyId,
  scenario: Scenario,
  ctx: ScenarioContext,
  upstreamPort: number,
  prepared: Prepared,
  result: ScenarioResult,
  wrkScripts: WrkScripts,
): Promise<ProxyResult> {
  const headers = prepared.headers ?? {};
  const { tokensFile } = prepared;
  const sanityHeaders = prepared.sanityToken === undefined ? headers : { ...headers, authorization: `Bearer ${prepared.sanityToken}` };
  const r: ProxyResult = { id };
  const port = id === 'cortex' ? ctx.gatewayPort : id === 'direct' ? upstreamPort : await freePort();
  const label = PROXY_LABEL[id];
  let proxy: RunningProxy | undefined;
  /** Requests sent by measurements that were repeated: they reached the audit trail too. */
  let repeatedRequests = 0;
  try {
    if (id !== 'direct') console.log(`[${scenario.name}] ${label}: starting on 127.0.0.1:${port} (core ${PROXY_CPU})`);
    proxy = await startProxy(id, { cpu: PROXY_CPU, workDir: WORK, port, upstreamPort, scenario, ctx });
    r.command = proxy.command;
    const url = `${scenario.tls === undefined ? 'http' : 'https'}://127.0.0.1:${port}${scenario.path}`;
    await sanity(url, sanityHeaders, scenario.tls === undefined ? undefined : readFileSync(tlsFiles(ctx).ca, 'utf8'));
    const wrkOpts = { url, cpu: LOAD_CPU, connections: method.connections, scripts: wrkScripts, headers, tokensFile };
    // The maximum-throughput load: wrk, or h2load for HTTP/2 scenarios (no --warm-up-time: the
    // separate warm-up run below warms the proxy, and every request is then counted for the audit check).
    const load = (durationS: number): Promise<WrkResult> =>
      scenario.tls?.http2 === true
        ? runH2load({ url, cpu: LOAD_CPU, connections: method.connections, streams, durationS, warmupS: 0, workDir: ctx.dir, headers })
        : runWrk({ ...wrkOpts, durationS });

    r.idleBefore = await waitForQuiet(quietWaitMs, QUIET_PCT);
    const busy = Object.values(r.idleBefore.busy);
    if (busy.some((b) => b > QUIET_PCT)) {
      console.warn(
        `[${scenario.name}] warning: the machine is busy with other work (cores ${busy.map((b) => `${Math.round(b)}%`).join(' / ')} ` +
          `after waiting ${Math.round(r.idleBefore.waitedMs / 1000)} s); numbers will be low`,
      );
    } else if (r.idleBefore.waitedMs > 1500) {
      console.log(`[${scenario.name}] waited ${Math.round(r.idleBefore.waitedMs / 1000)} s for other load to stop`);
    }

    console.log(`[${scenario.name}] ${label}: warm-up ${method.warmupS} s`);
    r.warmup = await load(method.warmupS);
    console.log(`[${scenario.name}] ${label}: measured run ${method.durationS} s`);
    const pid = proxy.process?.pid;
    const tag = `[${scenario.name}] ${label}`;
    const m = await guarded(tag, pid, () => load(method.durationS));
    const max = m.value;
    r.cpu = m.cpu;
    r.retries = m.retries;
    repeatedRequests += m.discarded.reduce((n, w) => n + w.requests, 0);
    r.max = max;
    const errs = wrkErrorCount(max);
    console.log(
      `[${scenario.name}] ${label}: ${Math.round(max.rps)} req/s, p50 ${max.p50Ms.toFixed(2)} ms, p99 ${max.p99Ms.toFixed(2)} ms` +
        (errs > 0 ? `, ${errs} errors` : ''),
    );

    if (result.fixedRate === undefined && errs === 0 && id !== 'direct' && scenario.tls === undefined) {
      const rate = args.rate !== undefined ? num(args.rate, 0, 'rate') : Math.floor(max.rps / 2);
      result.fixedRate = {
        rps: rate,
        basis: args.rate !== undefined ? 'set with --rate' : `half of ${label}'s measured maximum`,
      };
    }
    if (result.fixedRate !== undefined) {
      console.log(`[${scenario.name}] ${label}: fixed rate ${result.fixedRate.rps} req/s for ${method.fixedDurationS} s (autocannon)`);
      try {
        const fixedRps = result.fixedRate.rps;
        const f = await guarded(tag, pid, () =>
          runFixedRate(LOAD_CPU, {
            url,
            rate: fixedRps,
            connections: method.fixedConnections,
            durationS: method.fixedDurationS,
            warmupS: method.fixedWarmupS,
            headers,
            tokensFile,
          }),
        );
        r.fixed = f.value;
        r.retries += f.retries;
        repeatedRequests += f.discarded.reduce((n, x) => n + x.warmupCompleted + x.completed, 0);
        console.log(
          `[${scenario.name}] ${label}: achieved ${Math.round(r.fixed.achievedRps)} req/s, p99 ${r.fixed.p99Ms.toFixed(2)} ms`,
        );
      } catch (err) {
        r.fixedError = err instanceof Error ? err.message : String(err);
      }
      console.log(`[${scenario.name}] ${label}: paced ${result.fixedRate.rps} req/s for ${method.fixedDurationS} s (wrk, even schedule)`);
      try {
        const pacedRps = result.fixedRate.rps;
        const pc = await guarded(tag, pid, () =>
          runWrk({ ...wrkOpts, connections: method.fixedConnections, durationS: method.fixedDurationS, rate: pacedRps }),
        );
        r.paced = pc.value;
        r.retries += pc.retries;
        repeatedRequests += pc.discarded.reduce((n, w) => n + w.requests, 0);
        console.log(
          `[${scenario.name}] ${label}: achieved ${Math.round(r.paced.rps)} req/s, p99 ${r.paced.p99Ms.toFixed(2)} ms` +
            ` (${r.paced.pacing?.late ?? 0} sends > 1 ms late)`,
        );
      } catch (err) {
        r.pacedError = err instanceof Error ? err.message : String(err);
      }
    }
  } catch (err) {
    r.error = err instanceof Error ? err.message : String(err);
    console.error(`[${scenario.name}] ${label}: FAILED: ${r.error}`);
  } finally {
    if (id === 'cortex' && prepared.beforeCortexStops !== undefined) {
      try {
        await prepared.beforeCortexStops();
      } catch (err) {
        prepared.notes?.push(`Reading Cortex's figures after the run failed: \`${err instanceof Error ? err.message : String(err)}\``);
      }
    }
    if (proxy?.process !== undefined) await stop(proxy.process);
  }

  if (id === 'cortex' && r.max !== undefined && existsSync(ctx.auditFile)) {
    const requests =
      1 +
      repeatedRequests +
      (r.warmup?.requests ?? 0) +
      r.max.requests +
      (r.fixed ? r.fixed.warmupCompleted + r.fixed.completed : 0) +
      (r.paced?.requests ?? 0);
    const inFlight = method.connections * (scenario.tls?.http2 === true ? streams : 1);
    r.audit = { lines: countLines(ctx.auditFile), requests, inFlightSlack: 3 * inFlight + 2 * method.fixedConnections };
  }
  return r;
}

async function main(): Promise<void> {
  const major = Number(process.versions.node.split('.')[0]);
  if (major < 24) throw new Error(`Node ${process.version}: run with Node 24 (npm run bench, or npx node bench/run.ts)`);
  installCleanupHandlers();
  const nice = Number(args.nice);
  if (!Number.isInteger(nice) || nice < -20 || nice > 19) throw new Error(`--nice must be an integer in -20..19, got ${args.nice}`);
  method.niceness = nice < 0 && process.getuid?.() !== 0 ? 0 : nice;
  setNiceness(method.niceness);
  if (os.availableParallelism() < 2) throw new Error('the bench needs at least 2 cores (proxy on core 0, load on core 1)');

  const only = list(args.only, ORDER, 'only');
  const named = list(
    args.scenario,
    scenarios.map((s) => s.name),
    'scenario',
  );
  const wanted = new Set(named.flatMap((n) => [...(scenarios.find((s) => s.name === n)!.comparesWith ?? []), n]));
  for (const n of wanted) if (!named.includes(n)) console.log(`bench: also running ${n} (a chosen scenario is compared with it)`);
  const chosen = scenarios.filter((s) => wanted.has(s.name));
  const partial = args.quick || args.only !== undefined || args.scenario !== undefined;
  const outFile = args.out ?? (partial ? join(WORK, 'RESULTS.partial.md') : join(ROOT, 'bench', 'RESULTS.md'));

  await ensureTools();
  mkdirSync(WORK, { recursive: true });
  const wrkScripts = writeWrkScripts(WORK);
  const machine = await machineInfo();
  console.log(`bench: ${machine.cpuModel}, ${machine.nproc} cores, node ${machine.node}, nginx ${machine.nginx}`);

  const upstreamPort = await freePort();
  console.log(`bench: upstream nginx on 127.0.0.1:${upstreamPort} (core ${LOAD_CPU})`);
  const upstream = await startNginx({
    name: 'nginx-upstream',
    workDir: WORK,
    cpu: LOAD_CPU,
    port: upstreamPort,
    conf: (prefix) => renderUpstreamConf(prefix, upstreamPort),
  });
  await sanity(`http://127.0.0.1:${upstreamPort}/`, {});

  const run: BenchRun = { machine, method, scenarios: [] };
  try {
    for (const scenario of chosen) {
      const dir = join(WORK, scenario.name);
      mkdirSync(dir, { recursive: true });
      const ctx: ScenarioContext = {
        dir,
        upstreamUrl: `http://127.0.0.1:${upstreamPort}`,
        gatewayPort: await freePort(),
        adminPort: await freePort(),
        auditFile: join(dir, 'audit.jsonl'),
      };
      rmSync(ctx.auditFile, { force: true });
      rmSync(join(dir, 'cortex.log'), { force: true });
      const prepared: Prepared = (await scenario.prepare?.(ctx)) ?? {};
      const result: ScenarioResult = { scenario, proxies: [], notes: prepared.notes, mintPerSecond: prepared.mintPerSecond };
      run.scenarios.push(result);
      // TLS scenarios: the certificate for the run (a local CA and a leaf for 127.0.0.1/localhost).
      if (scenario.tls !== undefined) await ensureLocalTls(tlsFiles(ctx).dir);
      const proxies = ORDER.filter(
        (id) =>
          only.includes(id) &&
          (id === 'cortex' ||
            (id === 'direct' && scenario.tls === undefined && scenario.calibrate !== false) ||
            (id !== 'direct' && scenario.baselines.includes(id))),
      );
      try {
        for (const id of proxies) {
          result.proxies.push(await measureProxy(id, scenario, ctx, upstreamPort, prepared, result, wrkScripts));
          await sleep(1000); // let sockets in TIME_WAIT and the JIT of the last process settle
        }
      } finally {
        await prepared.close?.();
      }
      result.proxies.sort((a, b) => REPORT_ORDER.indexOf(a.id) - REPORT_ORDER.indexOf(b.id));
    }
  } finally {
    await stop(upstream);
  }

  writeFileSync(join(WORK, `results-${machine.date.replace(/[:]/g, '')}.json`), JSON.stringify(run, null, 2));
  writeFileSync(outFile, renderMarkdown(run));
  console.log(renderConsole(run));
  console.log(`\nbench: wrote ${outFile.startsWith(ROOT) ? outFile.slice(ROOT.length) : outFile}`);
}

try {
  await main();
} catch (err) {
  console.error(`bench: ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = 1;
} finally {
  await stopAll();
}
