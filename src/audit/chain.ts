// The hash chain of one writer (a gateway process run). Every event is serialized once, here, and
// linked to the previous record by sha256(prevHash + "\n" + json): editing, inserting or deleting a
// stored record breaks the chain after it (src/audit/verify.ts). One chain per writer means a fleet
// needs no global lock or sequence: each instance numbers its own records from 1.
import { hash, randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { AuditEvent } from './event.ts';
import { GENESIS_HASH } from './record.ts';
import type { ChainedRecord } from './record.ts';

/** `<hostname>/<pid>/<start ms>/<4 random bytes hex>`: unique per process run, readable in a report. */
export function newWriterId(now: number = Date.now()): string {
  return `${hostname()}/${process.pid}/${now}/${randomBytes(4).toString('hex')}`;
}

/** sha256 hex of `${prevHash}\n${json}`: the link every verifier recomputes. */
export function recordHash(prevHash: string, json: string): string {
  // One-shot crypto.hash: about half the cost of createHash().update().digest() for one event.
  return hash('sha256', `${prevHash}\n${json}`, 'hex');
}

export interface Chain {
  readonly writer: string;
  /** Chains one event: the next seq, linked to the previous record. */
  next(event: AuditEvent): ChainedRecord;
  /** The last record's seq and hash (seq 0 and GENESIS_HASH before the first). */
  head(): { seq: number; hash: string };
}

export function createChain(writer: string = newWriterId()): Chain {
  let seq = 0;
  let prevHash = GENESIS_HASH;
  return {
    writer,
    next(event) {
      const json = JSON.stringify(event);
      const hash = recordHash(prevHash, json);
      const record: ChainedRecord = { writer, seq: ++seq, prevHash, hash, json, event };
      prevHash = hash;
      return record;
    },
    head: () => ({ seq, hash: prevHash }),
  };
}
