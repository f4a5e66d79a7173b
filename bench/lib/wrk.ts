// wrk, pinned to a core, with a Lua done() hook that prints the summary as one JSON line.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runPinned } from './processes.ts';

export interface WrkResult {
  requests: number;
  durationS: number;
  rps: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  p999Ms: number;
  maxMs: number;
  meanMs: number;
  errors: { connect: number; read: number; write: number; status: number; timeout: number };
  /** Paced runs only: the schedule, and how many sends were more than 1 ms behind it. */
  pacing?: { targetRps: number; sends: number; late: number };
}

const MARK = 'BENCH_JSON ';

// wrk reports latency in microseconds; summary.duration is in microseconds too. Threads' own
// counters (the paced script's late sends) are read back with thread:get() in done().
const DONE_LUA = `
local threads = {}
setup = function(thread) table.insert(threads, thread) end
done = function(summary, latency, requests)
  local e = summary.errors
  local late, sends = 0, 0
  for _, t in ipairs(threads) do
    late = late + (t:get("late") or 0)
    sends = sends + (t:get("sends") or 0)
  end
  io.write(string.format(
    '${MARK}{"requests":%d,"duration_us":%d,"p50":%d,"p90":%d,"p99":%d,"p999":%d,"max":%d,"mean":%.3f,' ..
    '"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d,"late":%d,"sends":%d}\\n',
    summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency:percentile(99.9),
    latency.max, latency.mean,
    e.connect, e.read, e.write, e.status, e.timeout, late, sends))
end
`;

// Paced load: one schedule for the whole thread, slot i at t0 + i/rate; whichever connection asks
// next (wrk calls delay() before each request) takes the next slot and waits for it. The rate
// (requests/s) is the script argument. wrk's timers have 1 ms resolution; a send more than 1 ms
// behind its slot (every connection busy: the proxy is not keeping up) counts as late.
const PACED_LUA = `
local ffi = require("ffi")
ffi.cdef[[
typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
int clock_gettime(int clk_id, bench_timespec *tp);
]]
local ts = ffi.new("bench_timespec")
local function now_ms()
  ffi.C.clock_gettime(1, ts) -- CLOCK_MONOTONIC
  return tonumber(ts.tv_sec) * 1000 + tonumber(ts.tv_nsec) / 1e6
end
local interval
local next_slot
late = 0
sends = 0
init = function(args)
  interval = 1000 / tonumber(args[1])
end
delay = function()
  local t = now_ms()
  if next_slot == nil then next_slot = t end
  local wait = next_slot - t
  next_slot = next_slot + interval
  sends = sends + 1
  if wait <= 0 then
    if wait < -1 then late = late + 1 end
    return 0
  end
  return math.ceil(wait)
end
${DONE_LUA}`;

// Bearer scenarios: every request carries the next token of a file (one a line, loaded in init;
// the file is the script's last argument) in turn. A line may also name the request's method and
// path ("token METHOD /path"), for scenarios that spread requests over routes. request() makes wrk
// build each request anew.
const TOKENS_LUA = `
local tokens = {}
local methods = {}
local paths = {}
local next_token = 0
local function load_tokens(path)
  for line in io.lines(path) do
    local token, method, target = line:match("^(%S+)%s+(%S+)%s+(%S+)$")
    if token ~= nil then
      tokens[#tokens + 1] = token
      methods[#tokens] = method
      paths[#tokens] = target
    elseif line ~= "" then
      tokens[#tokens + 1] = line
    end
  end
  if #tokens == 0 then error("no tokens in " .. path) end
end
local previous_init = init
init = function(args)
  load_tokens(args[#args])
  if previous_init ~= nil then previous_init(args) end
end
request = function()
  next_token = next_token % #tokens + 1
  wrk.headers["Authorization"] = "Bearer " .. tokens[next_token]
  if methods[next_token] ~= nil then return wrk.format(methods[next_token], paths[next_token]) end
  return wrk.format()
end
`;

export interface WrkScripts {
  done: string;
  paced: string;
  /** As done and paced, rotating through a tokens file. */
  doneTokens: string;
  pacedTokens: string;
}

export function writeWrkScripts(workDir: string): WrkScripts {
  const scripts: WrkScripts = {
    done: join(workDir, 'wrk-done.lua'),
    paced: join(workDir, 'wrk-paced.lua'),
    doneTokens: join(workDir, 'wrk-done-tokens.lua'),
    pacedTokens: join(workDir, 'wrk-paced-tokens.lua'),
  };
  writeFileSync(scripts.done, DONE_LUA);
  writeFileSync(scripts.paced, PACED_LUA);
  writeFileSync(scripts.doneTokens, DONE_LUA + TOKENS_LUA);
  writeFileSync(scripts.pacedTokens, PACED_LUA + TOKENS_LUA);
  return scripts;
}

export interface WrkOptions {
  url: string;
  cpu: number;
  connections: number;
  durationS: number;
  scripts: WrkScripts;
  headers?: Record<string, string>;
  /** Paced at this many requests/s (the paced script) instead of as fast as possible. */
  rate?: number;
  /** A file of access tokens, one a line: each request sends the next as `Authorization: Bearer`. */
  tokensFile?: string;
}

export async function runWrk(o: WrkOptions): Promise<WrkResult> {
  const tokens = o.tokensFile !== undefined;
  const script =
    o.rate === undefined ? (tokens ? o.scripts.doneTokens : o.scripts.done) : tokens ? o.scripts.pacedTokens : o.scripts.paced;
  const args = ['-t1', `-c${o.connections}`, `-d${o.durationS}s`, '--timeout', '5s', '-s', script];
  for (const [k, v] of Object.entries(o.headers ?? {})) args.push('-H', `${k}: ${v}`);
  args.push(o.url);
  const scriptArgs = [...(o.rate === undefined ? [] : [String(o.rate)]), ...(o.tokensFile === undefined ? [] : [o.tokensFile])];
  if (scriptArgs.length > 0) args.push('--', ...scriptArgs);
  const r = await runPinned(o.cpu, 'wrk', args, { timeoutMs: (o.durationS + 30) * 1000 });
  const line = r.stdout.split('\n').find((l) => l.startsWith(MARK));
  if (r.code !== 0 || line === undefined) {
    throw new Error(`wrk failed (exit ${r.code}):\n${r.stdout}\n${r.stderr}`);
  }
  const j = JSON.parse(line.slice(MARK.length)) as Record<string, number>;
  const n = (k: string): number => j[k] ?? 0;
  const durationS = n('duration_us') / 1e6;
  return {
    requests: n('requests'),
    durationS,
    rps: durationS > 0 ? n('requests') / durationS : 0,
    p50Ms: n('p50') / 1000,
    p90Ms: n('p90') / 1000,
    p99Ms: n('p99') / 1000,
    p999Ms: n('p999') / 1000,
    maxMs: n('max') / 1000,
    meanMs: n('mean') / 1000,
    errors: { connect: n('connect'), read: n('read'), write: n('write'), status: n('status'), timeout: n('timeout') },
    ...(o.rate === undefined ? {} : { pacing: { targetRps: o.rate, sends: n('sends'), late: n('late') } }),
  };
}

export function wrkErrorCount(r: WrkResult): number {
  const e = r.errors;
  return e.connect + e.read + e.write + e.status + e.timeout;
}
