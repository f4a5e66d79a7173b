// Request ids Cortex generates: UUIDv7 (RFC 9562 §5.7) with a counter (§6.2, method 1), so ids
// made later sort later. The audit trail indexes request ids: time-ordered ids are appended at the
// index's right edge, where random UUIDs dirtied a different page for almost every row of a batch.
// Layout: 48-bit Unix ms | version 7 | 26-bit counter (12 bits, then 14 after the variant) | 48
// random bits drawn once per process, which keep two gateways' ids apart within the same ms.
import { randomBytes } from 'node:crypto';

const COUNTER_MAX = 0x3ff_ffff;

export interface RequestIdOptions {
  now?: () => number;
  /** 12 hex digits. */
  node?: string;
  /** The counter's last value within one ms (tests lower it). */
  counterMax?: number;
}

/** Makes ids that strictly increase within the process, even if the clock steps back. */
export function createRequestIdGenerator(opts: RequestIdOptions = {}): () => string {
  const now = opts.now ?? Date.now;
  const node = opts.node ?? randomBytes(6).toString('hex');
  const counterMax = Math.min(opts.counterMax ?? COUNTER_MAX, COUNTER_MAX);
  let lastMs = -1;
  let counter = 0;
  let msPart = '';
  const setMs = (ms: number): void => {
    lastMs = ms;
    const hex = ms.toString(16).padStart(12, '0');
    msPart = `${hex.slice(0, 8)}-${hex.slice(8)}-7`;
  };
  return () => {
    const ms = now();
    if (ms > lastMs) {
      setMs(ms);
      counter = 0;
    } else if (++counter > counterMax) {
      setMs(lastMs + 1); // borrows the next millisecond rather than repeat or reorder ids
      counter = 0;
    }
    const high = (counter >>> 14).toString(16).padStart(3, '0');
    const low = (0x8000 | (counter & 0x3fff)).toString(16);
    return `${msPart}${high}-${low}-${node}`;
  };
}

/** The gateway's generator (one per process). */
export const newRequestId: () => string = createRequestIdGenerator();
