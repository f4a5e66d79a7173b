// A PostgreSQL LISTEN on its own connection that comes back by itself: when the connection drops it
// reconnects after retryMs, and onListening runs again once LISTEN has taken effect, so the owner can
// reload whatever it may have missed meanwhile. Used by the stores that a fleet shares (API keys,
// the signing key ring) to hear other instances' changes at once.
import pg from 'pg';
import type { Logger } from 'pino';

export interface ChannelListenerOptions {
  settings: pg.ClientConfig;
  channel: string;
  /** Names the store in log lines ("api keys"). */
  what: string;
  log: Logger;
  retryMs: number;
  onNotify(payload: string | undefined): void;
  /** After LISTEN took effect, the first time and after every reconnect. */
  onListening?(): void;
  /** When the connection is lost (before the reconnect). */
  onLost?(): void;
  /** Runs on the fresh connection before LISTEN (creating the schema, say). */
  beforeListen?(): Promise<void>;
}

export interface ChannelListener {
  /** True while LISTEN is in effect. */
  readonly listening: boolean;
  close(): Promise<void>;
}

export function listenToChannel(opts: ChannelListenerOptions): ChannelListener {
  if (!/^[a-z_][a-z0-9_]*$/.test(opts.channel)) throw new Error(`invalid channel name "${opts.channel}"`);
  let current: pg.Client | undefined;
  let listening = false;
  let closed = false;
  let retry: NodeJS.Timeout | undefined;

  async function start(): Promise<void> {
    const client = new pg.Client(opts.settings);
    current = client;
    const lost = (): void => {
      if (current !== client) return;
      current = undefined;
      const was = listening;
      listening = false;
      client.removeAllListeners('notification');
      client.end().catch(() => undefined);
      if (was) opts.log.warn(`${opts.what}: lost the PostgreSQL LISTEN connection; reconnecting`);
      opts.onLost?.();
      if (!closed) {
        retry = setTimeout(() => void start(), opts.retryMs);
        retry.unref();
      }
    };
    client.on('error', lost);
    client.on('end', lost);
    client.on('notification', (n) => {
      if (n.channel === opts.channel) opts.onNotify(n.payload);
    });
    try {
      await client.connect();
      await opts.beforeListen?.();
      await client.query(`LISTEN ${opts.channel}`);
      if (current !== client) return;
      listening = true;
      opts.onListening?.();
    } catch {
      lost();
    }
  }
  void start();

  return {
    get listening() {
      return listening;
    },
    async close() {
      if (closed) return;
      closed = true;
      clearTimeout(retry);
      const client = current;
      current = undefined;
      listening = false;
      client?.removeAllListeners('end');
      await client?.end().catch(() => undefined);
    },
  };
}
