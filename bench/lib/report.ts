// The results of a bench run, and their rendering as bench/RESULTS.md (and a console summary).
import { sustained, type FixedRateResult } from './fixed-rate.ts';
import type { CpuUse } from './processes.ts';
import type { WrkResult } from './wrk.ts';
import { PROXY_LABEL, type ProxyId, type Scenario, type Target } from '../scenarios.ts';

export interface MachineInfo {
  date: string;
  nproc: number;
  cpuModel: string;
  kernel: string;
  node: string;
  nginx: string;
  wrk: string;
  autocannon: string;
  cortex: string;
  loadAvg: string;
}

export interface Method {
  quick: boolean;
  proxyCpu: number;
  loadCpu: number;
  connections: number;
  warmupS: number;
  durationS: number;
  fixedDurationS: number;
  fixedConnections: number;
  /** Uncounted seconds at the fixed rate before each fixed-rate measurement. */
  fixedWarmupS: number;
  niceness: number;
}

export interface ProxyResult {
  id: ProxyId;
  command?: string;
  error?: string;
  warmup?: WrkResult;
  max?: WrkResult;
  /** Busy % of each core and of the proxy's process tree (as % of one core) during the measured run. */
  cpu?: CpuUse;
  /** Measurements repeated because other work took the proxy core. */
  retries?: number;
  /** Busy % of each core just before the warm-up, with nothing of ours running: other people's load. */
  idleBefore?: { busy: Record<number, number>; waitedMs: number };
  fixed?: FixedRateResult;
  fixedError?: string;
  /** wrk at the fixed rate on an even schedule (WrkResult.pacing set). */
  paced?: WrkResult;
  pacedError?: string;
  audit?: { lines: number; requests: number; inFlightSlack: number };
}

export interface ScenarioResult {
  scenario: Scenario;
  proxies: ProxyResult[];
  fixedRate?: { rps: number; basis: string };
  /** From the scenario's prepare (how its tokens were made). */
  notes?: string[];
  mintPerSecond?: number;
}

export interface BenchRun {
  machine: MachineInfo;
  method: Method;
  scenarios: ScenarioResult[];
}

const fmtInt = (n: number): string => Math.round(n).toLocaleString('en-US');
const fmtMs = (n: number): string => (n < 10 ? n.toFixed(2) : n.toFixed(1));
const fmtRatio = (n: number): string => `${n.toFixed(2)}×`;
const fmtPct = (n: number | undefined): string => (n === undefined ? '–' : `${Math.round(n)}%`);

function ok(r: ProxyResult | undefined): r is ProxyResult & { max: WrkResult } {
  return r?.max !== undefined;
}

export function ratio(s: ScenarioResult, a: ProxyId, b: ProxyId): number | undefined {
  const ra = s.proxies.find((p) => p.id === a);
  const rb = s.proxies.find((p) => p.id === b);
  if (!ok(ra) || !ok(rb) || rb.max.rps === 0) return undefined;
  return ra.max.rps / rb.max.rps;
}

/** Cortex's maximum in s over Cortex's maximum in another scenario of the run. */
export function scenarioRatio(run: BenchRun, s: ScenarioResult, other: string): { ratio: number; rps: number } | undefined {
  const mine = s.proxies.find((p) => p.id === 'cortex');
  const theirs = run.scenarios.find((o) => o.scenario.name === other)?.proxies.find((p) => p.id === 'cortex');
  if (!ok(mine) || !ok(theirs) || theirs.max.rps === 0) return undefined;
  return { ratio: mine.max.rps / theirs.max.rps, rps: theirs.max.rps };
}

function targetStatus(run: BenchRun, s: ScenarioResult, t: Target): { value: string; verdict: string } {
  if (t.kind === 'scenario-ratio') {
    const r = scenarioRatio(run, s, t.scenario);
    if (r === undefined) return { value: `not measured (needs ${t.scenario} in the same run)`, verdict: '–' };
    const value = `${fmtRatio(r.ratio)} (of ${fmtInt(r.rps)} requests/s)`;
    if (t.atLeast <= 0) return { value, verdict: 'report only' };
    return { value, verdict: r.ratio >= t.atLeast ? '**met**' : '**missed**' };
  }
  if (t.kind === 'ratio') {
    const r = ratio(s, 'cortex', t.to);
    if (r === undefined) return { value: 'not measured', verdict: '–' };
    return { value: fmtRatio(r), verdict: r >= t.atLeast ? '**met**' : '**missed**' };
  }
  const c = s.proxies.find((p) => p.id === 'cortex');
  const parts: { value: string; verdict: string }[] = [];
  const measured: [string, number, boolean][] = [];
  if (c?.paced) measured.push(['paced', c.paced.p99Ms, pacedSustained(c.paced)]);
  if (c?.fixed) measured.push(['autocannon', c.fixed.p99Ms, sustained(c.fixed)]);
  for (const [name, p99, sus] of measured) {
    const met = p99 <= t.atMostMs && sus;
    parts.push({ value: `${fmtMs(p99)} ms (${name})`, verdict: `**${met ? 'met' : 'missed'}** (${name})` });
  }
  if (parts.length === 0) return { value: 'not measured', verdict: '–' };
  return { value: parts.map((p) => p.value).join('; '), verdict: parts.map((p) => p.verdict).join('; ') };
}

/** A paced wrk run kept its schedule: ≥ 97% of the rate, no errors, under 1% of sends late. */
export function pacedSustained(w: WrkResult): boolean {
  const p = w.pacing;
  if (p === undefined) return false;
  const errors = Object.values(w.errors).reduce((a, b) => a + b, 0);
  return w.rps >= 0.97 * p.targetRps && errors === 0 && p.late <= 0.01 * Math.max(1, p.sends);
}

function pacedShortfall(w: WrkResult): string {
  const p = w.pacing;
  if (p === undefined) return 'not paced';
  const why: string[] = [];
  if (w.rps < 0.97 * p.targetRps) why.push(`${Math.round((100 * w.rps) / p.targetRps)}% of the rate`);
  if (errorsOf(w) !== '0') why.push(`errors: ${errorsOf(w)}`);
  if (p.late > 0.01 * Math.max(1, p.sends)) why.push(`${((100 * p.late) / p.sends).toFixed(1)}% of sends late`);
  return why.join('; ');
}

function errorsOf(w: WrkResult): string {
  const e = w.errors;
  const parts = Object.entries(e)
    .filter(([, v]) => v > 0)
    .map(([k, v]) => `${k} ${v}`);
  return parts.length === 0 ? '0' : parts.join(', ');
}

function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim().slice(0, 400);
}

export function renderMarkdown(run: BenchRun): string {
  const { machine: m, method: me } = run;
  const out: string[] = [];
  out.push('# Cortex benchmarks', '');
  out.push(
    'Generated by `npm run bench` (bench/run.ts); do not edit by hand. Re-run to refresh: `npm run bench` (about 3 minutes per ' +
      'scenario), `npm run bench -- --quick` for a smoke run, `npm run bench -- --help` for the options. Scenarios (a name, a ' +
      'Cortex config, the baselines beside it, the targets) are listed in bench/scenarios.ts; each gets a section below.',
    me.quick ? '\n> **Quick smoke run**: durations are too short for the numbers to mean much.\n' : '',
  );
  out.push('## Machine', '');
  out.push(`- Date: ${m.date}`);
  out.push(`- CPU: ${m.cpuModel}, nproc ${m.nproc}; kernel ${m.kernel}; load average at start ${m.loadAvg}`);
  out.push(`- Node ${m.node}; nginx ${m.nginx}; ${m.wrk}; autocannon ${m.autocannon}`);
  out.push(`- Cortex ${m.cortex}`);
  out.push('');
  out.push('## Method', '');
  out.push(
    `- Every proxy runs alone on core ${me.proxyCpu} (\`taskset -c ${me.proxyCpu}\`); the upstream (a separate nginx, one worker, ` +
      `\`return 200 "ok\\n"\`, keep-alive) and the load generators run on core ${me.loadCpu}. All traffic is on 127.0.0.1, HTTP/1.1 keep-alive.` +
      (me.niceness !== 0
        ? ` Every process the bench starts runs at niceness ${me.niceness} (and so does its scheduler autogroup), so that other work on a ` +
          'shared machine takes little from it. Before each proxy the bench waits for the machine to be idle, and a measurement ' +
          'during which something else took more than 15% of the proxy core is repeated (up to twice).'
        : ''),
    `- Maximum throughput: wrk, 1 thread, ${me.connections} connections; ${me.warmupS} s warm-up, then a ${me.durationS} s measured run ` +
      '(requests/s, p50 and p99 from a Lua `done()` hook).',
    `- Latency at a fixed rate, half of Cortex's measured maximum (or of the first proxy measured when Cortex is not), ` +
      `${me.fixedConnections} connections, ${me.fixedWarmupS} s uncounted at that rate and then ${me.fixedDurationS} s measured, twice:`,
    '  - **autocannon** (programmatic API, `overallRate`), as the issue asks. Latencies are taken per response (sub-millisecond) ' +
      "rather than from autocannon's whole-millisecond histogram (its own p99, coordinated-omission corrected, is shown beside). " +
      'autocannon enforces the rate as a per-connection budget per second sent back to back, so the load arrives in bursts at ' +
      'the start of each second at the proxy\'s full speed: the "peak 100 ms rate" and "active" (share of 10 ms slots with any ' +
      'response) columns show it. Its p99 is closer to the p99 under saturation than to the p99 at half load.',
    '  - **paced**: wrk with a Lua `delay()` schedule (bench/lib/wrk.ts): slot *i* is at *t0 + i/rate* for the whole run and ' +
      'whichever connection is free takes the next slot, so requests arrive evenly at the rate; a send more than 1 ms behind ' +
      'its slot (every connection busy) counts as late. This is the p99 at half load in the sense of the target.',
    '- The "no proxy (calibration)" row sends the same load straight to the upstream: the cost of the load core itself ' +
      '(generator and upstream share it). Its latency is the floor under every proxy\'s figure; its throughput is the most the ' +
      'load core can drive.',
    '- nginx baseline: one worker, `proxy_http_version 1.1`, `proxy_set_header Connection ""`, upstream `keepalive 64`, `access_log off`. ' +
      'Bare undici proxy (bench/bare-undici-proxy.ts): node:http + undici `Pool` (128 connections, pipelining 1) `stream()`.',
    '- Core busy % is the share of the core that was not idle during the measured run (all processes); "proxy CPU" is the ' +
      'proxy\'s own user+system time as % of one core. A proxy near 100% is the bottleneck; a load core near 100% means the ' +
      'numbers are a floor.',
  );
  out.push('');
  out.push(...renderOverview(run));

  for (const s of run.scenarios) out.push(...renderScenario(run, s, me));
  return out.join('\n').replace(/\n{3,}/g, '\n\n');
}

function renderScenario(run: BenchRun, s: ScenarioResult, me: Method): string[] {
  const out: string[] = [];
  const rate = s.fixedRate;
  out.push(`## Scenario: ${s.scenario.title}`, '');
  out.push(`\`${s.scenario.name}\`: ${s.scenario.description} Request: \`GET ${s.scenario.path}\`.`, '');

  out.push('### Summary', '');
  out.push(
    `Maximum: ${s.scenario.tls?.http2 === true ? 'h2load (HTTP/2, 10 streams per connection by default)' : 'wrk'}, ${me.connections} connections, ${me.durationS} s` +
      `${s.scenario.tls === undefined ? '' : ', over TLS'}. Half load: ` +
      (rate ? `${fmtInt(rate.rps)} requests/s (${rate.basis}).` : 'not measured.'),
    '',
  );
  out.push('| proxy | requests/s | p50 ms | p99 ms | × bare undici | × nginx | p99 ms at half load, paced | p99 ms at half load, autocannon |');
  out.push('|---|---:|---:|---:|---:|---:|---:|---:|');
  for (const p of s.proxies) {
    if (!ok(p)) {
      out.push(`| ${PROXY_LABEL[p.id]} | failed | | | | | | |`);
      continue;
    }
    const vs = (b: ProxyId): string => {
      const r = p.id === b || p.id === 'direct' ? undefined : ratio(s, p.id, b);
      return r === undefined ? '' : p.id === 'cortex' ? `**${fmtRatio(r)}**` : fmtRatio(r);
    };
    const paced = p.paced ? `${fmtMs(p.paced.p99Ms)}${pacedSustained(p.paced) ? '' : ' (rate not kept)'}` : '–';
    const ac = p.fixed ? `${fmtMs(p.fixed.p99Ms)}${sustained(p.fixed) ? '' : ' (rate not kept)'}` : '–';
    out.push(
      `| ${PROXY_LABEL[p.id]} | ${fmtInt(p.max.rps)} | ${fmtMs(p.max.p50Ms)} | ${fmtMs(p.max.p99Ms)} | ${vs('bare')} | ${vs('nginx')} | ${paced} | ${ac} |`,
    );
  }
  out.push('');

  out.push('### Targets', '');
  out.push('| target | measured | verdict |', '|---|---|---|');
  for (const t of s.scenario.targets) {
    const st = targetStatus(run, s, t);
    out.push(`| ${t.label} | ${st.value} | ${st.verdict} |`);
  }
  out.push('');

  out.push(`### Maximum throughput: details`, '');
  out.push('| proxy | requests/s | p50 ms | p90 ms | p99 ms | p99.9 ms | max ms | errors | proxy CPU | core 0 busy | core 1 busy |');
  out.push('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const p of s.proxies) {
    if (!ok(p)) continue;
    const w = p.max;
    out.push(
      `| ${PROXY_LABEL[p.id]} | ${fmtInt(w.rps)} | ${fmtMs(w.p50Ms)} | ${fmtMs(w.p90Ms)} | ${fmtMs(w.p99Ms)} | ${fmtMs(w.p999Ms)} | ` +
        `${fmtMs(w.maxMs)} | ${errorsOf(w)} | ${fmtPct(p.cpu?.processPct)} | ${fmtPct(p.cpu?.cores[0])} | ${fmtPct(p.cpu?.cores[1])} |`,
    );
  }
  out.push('');

  if (rate !== undefined) {
    out.push(`### Half load, paced (wrk, an even ${fmtInt(rate.rps)} requests/s): details`, '');
    out.push('| proxy | achieved req/s | rate kept | p50 ms | p90 ms | p99 ms | p99.9 ms | max ms | sends > 1 ms late |');
    out.push('|---|---:|---|---:|---:|---:|---:|---:|---:|');
    for (const p of s.proxies) {
      const w = p.paced;
      if (w?.pacing === undefined) {
        if (ok(p)) out.push(`| ${PROXY_LABEL[p.id]} | ${p.pacedError !== undefined ? 'failed' : 'not run'} | | | | | | | |`);
        continue;
      }
      out.push(
        `| ${PROXY_LABEL[p.id]} | ${fmtInt(w.rps)} | ${pacedSustained(w) ? 'yes' : `**no** (${pacedShortfall(w)})`} | ` +
          `${fmtMs(w.p50Ms)} | ${fmtMs(w.p90Ms)} | ${fmtMs(w.p99Ms)} | ${fmtMs(w.p999Ms)} | ${fmtMs(w.maxMs)} | ` +
          `${((100 * w.pacing.late) / Math.max(1, w.pacing.sends)).toFixed(1)}% |`,
      );
    }
    out.push('');

    out.push(`### Half load, autocannon (\`overallRate\` ${fmtInt(rate.rps)}): details`, '');
    out.push('| proxy | achieved req/s | rate kept | p50 ms | p99 ms | p99.9 ms | max ms | autocannon\'s p99 (whole ms) | peak 100 ms rate | active |');
    out.push('|---|---:|---|---:|---:|---:|---:|---:|---:|---:|');
    for (const p of s.proxies) {
      const f = p.fixed;
      if (f === undefined) {
        if (ok(p)) out.push(`| ${PROXY_LABEL[p.id]} | ${p.fixedError !== undefined ? 'failed' : 'not run'} | | | | | | | | |`);
        continue;
      }
      out.push(
        `| ${PROXY_LABEL[p.id]} | ${fmtInt(f.achievedRps)} | ${sustained(f) ? 'yes' : `**no** (errors ${f.errors}, non-2xx ${f.non2xx})`} | ` +
          `${fmtMs(f.p50Ms)} | ${fmtMs(f.p99Ms)} | ${fmtMs(f.p999Ms)} | ${fmtMs(f.maxMs)} | ${f.autocannonP99Ms} | ` +
          `${fmtInt(f.peak100msRps)} | ${Math.round(f.activeShare * 100)}% |`,
      );
    }
    out.push('');
  }

  const notes: string[] = (s.notes ?? []).map((n) => `- ${n}`);
  const cortex = s.proxies.find((p) => p.id === 'cortex');
  if (s.mintPerSecond !== undefined && cortex?.audit !== undefined) {
    const sent = cortex.audit.requests;
    notes.push(
      `- This run sent ${fmtInt(sent)} requests to Cortex (warm-up, measured, half load): a distinct token for each would have ` +
        `taken the provider ~${fmtInt(sent / s.mintPerSecond)} s to mint, against ~${fmtInt(runSeconds(me))} s of load.`,
    );
  }
  for (const p of s.proxies) {
    const label = PROXY_LABEL[p.id];
    if (p.error !== undefined) notes.push(`- ${label} did not run: \`${oneLine(p.error)}\``);
    if (p.fixedError !== undefined) notes.push(`- ${label}: the autocannon run failed: \`${oneLine(p.fixedError)}\``);
    if (p.pacedError !== undefined) notes.push(`- ${label}: the paced run failed: \`${oneLine(p.pacedError)}\``);
    if (p.audit !== undefined) {
      const a = p.audit;
      const diff = a.lines - a.requests;
      const verdict = diff >= 0 && diff <= a.inFlightSlack ? 'consistent' : 'MISMATCH';
      notes.push(
        `- Audit sanity (${label}): ${fmtInt(a.lines)} lines in the JSON-lines sink vs ${fmtInt(a.requests)} ` +
          `requests completed by the load generators (${diff >= 0 ? '+' : ''}${diff}; up to +${a.inFlightSlack} expected ` +
          `from requests in flight when a load run stops): ${verdict}.`,
      );
    }
    if ((p.retries ?? 0) > 0) {
      notes.push(`- ${label}: ${p.retries} measurement(s) repeated because other work took part of the proxy core.`);
    }
    const idle = p.idleBefore;
    if (idle !== undefined && Object.values(idle.busy).some((b) => b > 10)) {
      notes.push(
        `- ${label}: the machine was busy with other work before this run (cores ` +
          `${Object.values(idle.busy).map((b) => fmtPct(b)).join(' / ')} busy while the bench was idle): its numbers are disturbed.`,
      );
    }
    const c = p.cpu;
    if (c !== undefined && p.id === 'direct' && (c.task[0] ?? 0) > 15) {
      notes.push(
        `- ${label}: core 0, which this run does not use, was ${fmtPct(c.task[0])} busy: other work was running on the ` +
          'machine at the time (the bench\'s processes have priority over it, but not all of its effect goes away).',
      );
    }
    if (c?.processPct !== undefined && (c.task[0] ?? 0) - c.processPct > 15) {
      notes.push(
        `- ${label}: processes used ${fmtPct(c.task[0])} of core 0 but the proxy only ${fmtPct(c.processPct)}: ` +
          'something else shared its core during the measured run.',
      );
    }
    if (c !== undefined && (c.cores[1] ?? 0) >= 95 && p.id !== 'direct') {
      notes.push(
        `- ${label}: the load core was ${fmtPct(c.cores[1])} busy during the measured run: the load generator and upstream ` +
          'were (near) the limit, so this maximum is a floor for the proxy.',
      );
    }
    const steal = c === undefined ? [] : Object.values(c.steal).filter((v) => v > 2);
    if (steal.length > 0) notes.push(`- ${label}: hypervisor steal during the run: ${steal.map(fmtPct).join(' / ')}.`);
    if (p.command !== undefined) notes.push(`- ${label}: ${p.id === 'direct' ? p.command : `\`${p.command}\``}`);
  }
  if (notes.length > 0) out.push('### Notes', '', ...notes, '');
  return out;
}

/** One row per scenario: Cortex's maximum and its ratios to the baselines and to other scenarios. */
function renderOverview(run: BenchRun): string[] {
  const out = ['## Overview', '', "Cortex's maximum throughput in each scenario (details in its section).", ''];
  out.push('| scenario | Cortex requests/s | p99 ms | × bare undici | × nginx | × Cortex in another scenario |');
  out.push('|---|---:|---:|---:|---:|---|');
  for (const s of run.scenarios) {
    const c = s.proxies.find((p) => p.id === 'cortex');
    const name = `\`${s.scenario.name}\``;
    if (!ok(c)) {
      out.push(`| ${name} | failed | | | | |`);
      continue;
    }
    const vs = (b: ProxyId): string => {
      const r = ratio(s, 'cortex', b);
      return r === undefined ? '' : fmtRatio(r);
    };
    const others = (s.scenario.comparesWith ?? []).flatMap((o) => {
      const r = scenarioRatio(run, s, o);
      return r === undefined ? [] : [`**${fmtRatio(r.ratio)}** ${o}`];
    });
    out.push(`| ${name} | ${fmtInt(c.max.rps)} | ${fmtMs(c.max.p99Ms)} | ${vs('bare')} | ${vs('nginx')} | ${others.join(', ')} |`);
  }
  out.push('');
  return out;
}

/** Seconds of load one proxy gets: warm-up, measured run, and the two half-load runs. */
function runSeconds(me: Method): number {
  return me.warmupS + me.durationS + 2 * (me.fixedWarmupS + me.fixedDurationS);
}

/** A compact console table. */
export function renderConsole(run: BenchRun): string {
  const lines: string[] = [];
  for (const s of run.scenarios) {
    lines.push(`\n== ${s.scenario.name} ==`);
    for (const p of s.proxies) {
      if (!ok(p)) {
        lines.push(`  ${PROXY_LABEL[p.id].padEnd(20)} FAILED: ${oneLine(p.error ?? 'unknown')}`);
        continue;
      }
      const f = p.fixed;
      const pc = p.paced;
      lines.push(
        `  ${PROXY_LABEL[p.id].padEnd(20)} ${fmtInt(p.max.rps).padStart(8)} req/s  p50 ${fmtMs(p.max.p50Ms)} ms  p99 ${fmtMs(p.max.p99Ms)} ms` +
          `  cpu ${fmtPct(p.cpu?.processPct)}` +
          (f ? `  | @${fmtInt(f.targetRps)}/s autocannon: ${fmtInt(f.achievedRps)}/s p99 ${fmtMs(f.p99Ms)} ms` : '') +
          (pc ? `; paced: ${fmtInt(pc.rps)}/s p99 ${fmtMs(pc.p99Ms)} ms` : ''),
      );
    }
    for (const [a, b] of [
      ['cortex', 'bare'],
      ['cortex', 'nginx'],
      ['bare', 'nginx'],
    ] as const) {
      const r = ratio(s, a, b);
      if (r !== undefined) lines.push(`  ${a}/${b} = ${fmtRatio(r)}`);
    }
    for (const t of s.scenario.targets) {
      const st = targetStatus(run, s, t);
      lines.push(`  target: ${t.label}: ${st.value} ${st.verdict.replace(/\*/g, '')}`);
    }
  }
  return lines.join('\n');
}
