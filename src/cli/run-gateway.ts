// The process wiring shared by `cortex serve`, `cortex dev` and the integration tests: a Gateway,
// its admin listener, SIGHUP → reload, SIGTERM/SIGINT → graceful close.
import type { AddressInfo } from 'node:net';
import { createAdminServer } from '../admin/server.ts';
import type { AdminServer } from '../admin/server.ts';
import { ConfigError, Gateway } from '../gateway/gateway.ts';
import type { CloseOptions, GatewayOptions } from '../gateway/gateway.ts';

export interface Runtime {
  gateway: Gateway;
  admin: AdminServer;
  addresses: { gateway: AddressInfo; admin: { host: string; port: number } };
  /** Drains the gateway (a number is graceMs; unset values come from the config's `shutdown`), then closes the admin listener. */
  close(opts?: CloseOptions | number): Promise<void>;
}

/** Starts the gateway and its admin listener; throws ConfigError on a bad config. */
export async function startRuntime(opts: GatewayOptions): Promise<Runtime> {
  const gateway = Gateway.create(opts);
  let admin: AdminServer | undefined;
  try {
    const gatewayAddress = await gateway.listen();
    admin = createAdminServer(gateway.adminView());
    const listen = gateway.current().config.admin.listen;
    const adminAddress = await admin.listen(listen.host, listen.port);
    const adminServer = admin;
    return {
      gateway,
      admin: adminServer,
      addresses: { gateway: gatewayAddress, admin: adminAddress },
      async close(closeOpts) {
        await gateway.close(closeOpts); // the admin listener stays up meanwhile: /readyz reports the drain
        await adminServer.close();
      },
    };
  } catch (err) {
    await gateway.close({ drainDelayMs: 0, graceMs: 0 });
    await admin?.close();
    throw err;
  }
}

/** For the CLI: prints config problems, wires signals; resolves with the exit code at the end. */
export async function runUntilSignal(opts: GatewayOptions, onStop?: () => Promise<void>): Promise<{ runtime: Runtime; stopped: Promise<number> } | number> {
  let runtime: Runtime;
  try {
    runtime = await startRuntime(opts);
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error('cortex: the configuration is not valid:');
      for (const p of err.problems) console.error(`  ${p.path || '(file)'}: ${p.message}${p.line ? ` (line ${p.line})` : ''}`);
      return 1;
    }
    console.error(`cortex: cannot start: ${(err as Error).message}`);
    return 1;
  }
  const { gateway } = runtime;
  const stopped = new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) return;
      stopping = true;
      const { drainDelayMs, graceMs } = gateway.current().config.shutdown;
      gateway.log.info({ signal, drainDelayMs, graceMs }, 'shutting down');
      void runtime
        .close({ drainDelayMs, graceMs })
        .then(() => onStop?.())
        .then(() => resolve(0), () => resolve(1));
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
    process.on('SIGHUP', () => {
      const r = gateway.reload();
      if (!r.ok) gateway.log.error({ problems: r.problems }, 'SIGHUP reload rejected');
    });
  });
  return { runtime, stopped };
}
