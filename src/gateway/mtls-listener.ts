// PLACEHOLDER (issue 5, being built): the mTLS listener. Replaced by the real one.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import type { Config, MtlsConfig } from '../config/schema.ts';
import type { Authenticator } from '../identity/authenticator.ts';

export interface MtlsListenerDeps {
  /** The gateway's request handler (protocol https), shared with the main listener. */
  handler: (req: IncomingMessage, res: ServerResponse) => void;
  limits: Config['gateway']['limits'];
  log: Logger;
}

export interface MtlsListener {
  authenticator: Authenticator;
  listen(): Promise<AddressInfo>;
  /** Stops accepting; open connections are closed. */
  close(): Promise<void>;
}

export function createMtlsListener(_cfg: MtlsConfig, _deps: MtlsListenerDeps): MtlsListener {
  throw new Error('the mTLS listener is not built yet');
}
