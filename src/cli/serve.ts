// `cortex serve --config FILE [--stage S]`: the standalone gateway.
import { parseArgs } from 'node:util';
import { resolve } from 'node:path';
import { createLogger } from '../telemetry/logger.ts';
import { isStage } from '../config/merge.ts';
import { runUntilSignal } from './run-gateway.ts';

export async function runServe(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: { config: { type: 'string', short: 'c' }, stage: { type: 'string' }, 'no-watch': { type: 'boolean' } },
  });
  if (!values.config) {
    console.error('usage: cortex serve --config FILE [--stage dev|staging|prod] [--no-watch]');
    return 2;
  }
  if (values.stage !== undefined && !isStage(values.stage)) {
    console.error(`cortex: unknown stage '${values.stage}' (dev, staging or prod)`);
    return 2;
  }
  const log = createLogger({ level: process.env.CORTEX_LOG_LEVEL ?? 'info', name: 'cortex' });
  const started = await runUntilSignal({
    configFile: resolve(values.config),
    stage: values.stage,
    log,
    watch: !values['no-watch'],
  });
  if (typeof started === 'number') return started;
  const { gateway, addresses } = started.runtime;
  gateway.log.info(
    { gateway: `${addresses.gateway.address}:${addresses.gateway.port}`, admin: `${addresses.admin.host}:${addresses.admin.port}`, stage: gateway.current().stage },
    'cortex is serving',
  );
  return started.stopped;
}
