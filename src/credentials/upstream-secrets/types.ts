// What the upstream-credentials filter needs from a credential source, and the secret sources the
// credentials are built from. Values are held in memory only and never handed to a logger.

/** A secret from config (usually ${ENV}) or from a file that may change while Cortex runs. */
export interface SecretSource {
  /** The last good value; undefined when none was ever read. */
  current(): string | undefined;
  /** Called after the value changed (never with the value). */
  onChange(listener: () => void): void;
  close(): void;
}

/** One upstream's outgoing credential: a header Cortex sets, replacing whatever the client sent. */
export interface UpstreamCredential {
  /** Lower-case header name. */
  readonly header: string;
  /** The header value when one is ready now (the hot path: no promise). */
  valueNow(): string | undefined;
  /** Waits for a value (a token fetch in flight, or one started now); undefined when none can be had. */
  value(): Promise<string | undefined>;
}

/** Whether a header value could not carry `value`: controls other than tab (CR and LF above all). */
export function unfitForHeader(value: string): boolean {
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if ((c < 0x20 && c !== 0x09) || c === 0x7f) return true;
  }
  return false;
}
