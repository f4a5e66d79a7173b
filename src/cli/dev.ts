// `cortex dev`: the gateway, the demo orders API and the admin listener on one machine, with no
// outside service. State lives under .cortex/dev/ in the working directory.
import { join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import { devConfigText } from '../dev/config.ts';
import { startOrdersApi } from '../dev/orders-api.ts';
import { devAdminToken, devDir, writeDevState } from '../dev/state.ts';
import { createLogger } from '../telemetry/logger.ts';
import { runUntilSignal } from './run-gateway.ts';

export async function runDev(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      port: { type: 'string', default: '8080' },
      'admin-port': { type: 'string', default: '9901' },
      'orders-port': { type: 'string', default: '9903' },
    },
  });
  const dir = devDir();
  const token = devAdminToken(dir);
  const orders = await startOrdersApi({ host: '127.0.0.1', port: Number(values['orders-port']) });
  const auditPath = join(dir, 'audit.jsonl');
  const log = createLogger({ level: process.env.CORTEX_LOG_LEVEL ?? 'info', name: 'cortex-dev' });
  const started = await runUntilSignal(
    {
      configText: devConfigText({
        gatewayPort: Number(values.port),
        adminPort: Number(values['admin-port']),
        ordersUrl: orders.url,
        auditPath,
      }),
      env: { ...process.env, CORTEX_ADMIN_TOKEN: token },
      log,
      readiness: { 'orders-api': () => orders.listening() },
    },
    () => orders.close(),
  );
  if (typeof started === 'number') {
    await orders.close();
    return started;
  }
  const { gateway, admin } = started.runtime.addresses;
  const gatewayUrl = `http://${gateway.address}:${gateway.port}`;
  const adminUrl = `http://${admin.host}:${admin.port}`;
  writeDevState({ gatewayUrl, adminUrl, ordersUrl: orders.url, pid: process.pid, startedAt: new Date().toISOString() }, dir);
  const rel = relative(process.cwd(), dir) || '.';
  console.log(
    [
      '',
      'Cortex dev is running.',
      `  gateway    ${gatewayUrl}   (try: curl ${gatewayUrl}/orders)`,
      `  admin      ${adminUrl}   (/healthz /readyz /metrics; /api/* needs the token)`,
      `  orders API ${orders.url}   (the demo upstream, reached through the gateway)`,
      `  audit log  ${join(rel, 'audit.jsonl')}   (one JSON line per request)`,
      `  admin token in ${join(rel, 'admin-token')}`,
      '',
      'Ctrl-C stops everything.',
      '',
    ].join('\n'),
  );
  return started.stopped;
}
