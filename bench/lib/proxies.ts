// How to start each proxy under test (all pinned to the proxy core).
import { existsSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { renderProxyConf, startNginx } from './nginx.ts';
import { setTimeout as sleep } from 'node:timers/promises';
import { request } from 'undici';
import { startPinned, tail, waitForPort, type Started } from './processes.ts';
import { tlsFiles, type ProxyId, type Scenario, type ScenarioContext } from '../scenarios.ts';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BARE = fileURLToPath(new URL('../bare-undici-proxy.ts', import.meta.url));
const CORTEX_BIN = join(ROOT, 'bin', 'cortex.js');

export interface RunningProxy {
  id: ProxyId;
  /** Undefined for 'direct' (the upstream itself, already running). */
  process?: Started;
  port: number;
  /** The command line, for the report. */
  command: string;
}

export async function startProxy(
  id: ProxyId,
  opts: { cpu: number; workDir: string; port: number; upstreamPort: number; scenario: Scenario; ctx: ScenarioContext },
): Promise<RunningProxy> {
  switch (id) {
    case 'direct':
      return { id, port: opts.upstreamPort, command: 'the load generators straight at the upstream nginx, both on the load core' };
    case 'nginx': {
      const p = await startNginx({
        name: `nginx-proxy-${opts.scenario.name}`,
        workDir: opts.workDir,
        cpu: opts.cpu,
        port: opts.port,
        conf: (prefix) => {
          const tls = opts.scenario.tls;
          if (tls === undefined) return renderProxyConf(prefix, opts.port, opts.upstreamPort);
          const { cert, key } = tlsFiles(opts.ctx);
          return renderProxyConf(prefix, opts.port, opts.upstreamPort, { cert, key, http2: tls.http2 });
        },
      });
      const conf = join(opts.workDir, `nginx-proxy-${opts.scenario.name}`, 'nginx.conf');
      return { id, process: p, port: opts.port, command: `taskset -c ${opts.cpu} nginx -c ${relative(ROOT, conf)}` };
    }
    case 'bare': {
      const args = [BARE, '--port', String(opts.port), '--upstream', `http://127.0.0.1:${opts.upstreamPort}`, '--connections', '128'];
      const p = startPinned({
        name: 'bare-undici-proxy',
        cpu: opts.cpu,
        command: process.execPath,
        args,
        logFile: join(opts.workDir, `bare-${opts.scenario.name}.log`),
        cwd: ROOT,
      });
      await waitForPort(p, '127.0.0.1', opts.port);
      return { id, process: p, port: opts.port, command: `taskset -c ${opts.cpu} node bench/bare-undici-proxy.ts` };
    }
    case 'cortex': {
      if (!existsSync(CORTEX_BIN)) throw new Error(`${CORTEX_BIN} does not exist yet`);
      const configFile = join(opts.ctx.dir, 'cortex.yaml');
      writeFileSync(configFile, stringify(opts.scenario.cortexConfig(opts.ctx)));
      const p = startPinned({
        name: 'cortex',
        cpu: opts.cpu,
        command: process.execPath,
        // BENCH_CORTEX_CPU_PROF=<dir>: a V8 CPU profile of each Cortex run, written there when it stops.
        args: [...(process.env.BENCH_CORTEX_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CORTEX_CPU_PROF}`] : []), CORTEX_BIN, 'serve', '--config', configFile],
        logFile: join(opts.ctx.dir, 'cortex.log'),
        cwd: ROOT,
      });
      await waitForPort(p, '127.0.0.1', opts.port, 30_000);
      await waitReady(p, opts.ctx.adminPort);
      return {
        id,
        process: p,
        port: opts.port,
        command: `taskset -c ${opts.cpu} node bin/cortex.js serve --config ${relative(ROOT, configFile)}`,
      };
    }
  }
}

/**
 * Waits for the admin /readyz to answer 200: every identity provider's key set has been fetched,
 * so no load run starts while the first tokens would still wait for (or be refused without) keys.
 */
async function waitReady(p: Started, adminPort: number, timeoutMs = 30_000): Promise<void> {
  const url = `http://127.0.0.1:${adminPort}/readyz`;
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer';
  while (Date.now() < deadline) {
    if (p.hasExited()) throw new Error(`${p.name} exited (${String(await p.exited)}) before it was ready\n${tail(p.logFile)}`);
    try {
      const res = await request(url);
      last = `${res.statusCode} ${(await res.body.text()).slice(0, 300)}`;
      if (res.statusCode === 200) return;
    } catch (err) {
      last = err instanceof Error ? err.message : String(err);
    }
    await sleep(100);
  }
  throw new Error(`${p.name}: ${url} did not answer 200 within ${timeoutMs} ms (last: ${last})\n${tail(p.logFile)}`);
}
