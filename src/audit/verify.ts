// Verification of a stored trail: every writer's chain is recomputed record by record (streamed in
// pages, so a million events verify in bounded memory) and compared with the writer's signed
// checkpoints, those stored beside the events and those of the second place (the checkpoint file),
// which is authoritative: a database rewritten together with its own checkpoints table still
// disagrees with it. The first problem of each writer is reported; records after the last
// checkpoint are an unsigned tail (intact as far as the chain goes, but nothing signed them yet).
import { recordHash } from './chain.ts';
import { verifyCheckpoint } from './checkpoints.ts';
import type { PublicKeyLookup } from './checkpoints.ts';
import { recordColumns } from './columns.ts';
import { GENESIS_HASH } from './record.ts';
import type { ChainedRecord, Checkpoint, DurableAuditStore } from './record.ts';

export type TrailProblemKind = 'edited' | 'inserted' | 'deleted' | 'checkpoint_mismatch' | 'bad_signature';

export interface TrailProblem {
  readonly kind: TrailProblemKind;
  readonly seq: number;
  readonly detail: string;
}

export interface WriterReport {
  readonly writer: string;
  /** Records read (up to the first problem). */
  records: number;
  firstSeq?: number;
  lastSeq?: number;
  /** The chain starts after a retention cut signed at this seq. */
  prunedThrough?: number;
  /** The last checkpoint the chain matched: every record up to it is verified. */
  verifiedThrough?: { seq: number; time: string };
  /** Records after the last checkpoint: linked, but not signed yet. */
  unsignedTail?: { from: number; to: number };
  problem?: TrailProblem;
  /** Valid checkpoints of this writer (stored and external, one per seq). */
  checkpoints: number;
}

export interface TrailReport {
  readonly ok: boolean;
  readonly writers: WriterReport[];
}

export interface VerifyOptions {
  /** The checkpoints of the second place (checkpoint file or captured stdout). */
  externalCheckpoints?: readonly Checkpoint[];
  /** The ring's public keys by kid, retired ones included. */
  publicKey: PublicKeyLookup;
  /** Records read per page. */
  pageSize?: number;
}

interface Signed {
  readonly seq: number;
  readonly hash: string;
  readonly time: string;
  readonly reason: Checkpoint['reason'];
  readonly source: 'stored' | 'external';
}

interface WriterCheckpoints {
  bySeq: Map<number, Signed>;
  problems: TrailProblem[];
}

const PAGE = 10_000;

/** A record read with its stored row (verify-source.ts): the query columns are checked against the hashed event. */
export type RecordWithRow = ChainedRecord & { readonly row?: Readonly<Record<string, unknown>> };

const CHAIN_COLUMNS = new Set(['writer', 'seq', 'hash', 'prevHash', 'json']);

/** The first query column whose stored value is not the one derived from the hashed event. */
function editedColumn(r: RecordWithRow): string | undefined {
  if (r.row === undefined) return undefined;
  for (const [key, expected] of Object.entries(recordColumns(r))) {
    if (CHAIN_COLUMNS.has(key)) continue;
    const stored = r.row[key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)];
    const same =
      expected === null || stored === null || stored === undefined
        ? expected === (stored ?? null)
        : typeof expected === 'boolean'
          ? expected === (stored === true || stored === 1 || stored === 1n)
          : typeof expected === 'number'
            ? expected === Number(stored)
            : expected === (typeof stored === 'string' ? stored : JSON.stringify(stored));
    if (!same) return key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
  }
  return undefined;
}

export type VerifiableTrail = Pick<DurableAuditStore, 'writers' | 'records' | 'checkpoints'>;

export async function verifyTrail(store: VerifiableTrail, opts: VerifyOptions): Promise<TrailReport> {
  const stored = await store.writers();
  const all: { cp: Checkpoint; source: Signed['source'] }[] = [];
  for (const w of stored) for (const cp of await store.checkpoints(w)) all.push({ cp, source: 'stored' });
  // External ones last: on a conflict at one seq they win.
  for (const cp of opts.externalCheckpoints ?? []) all.push({ cp, source: 'external' });
  const byWriter = await checkCheckpoints(all, opts.publicKey);
  const writers = [...new Set([...stored, ...byWriter.keys()])].sort();
  const reports: WriterReport[] = [];
  for (const writer of writers) {
    const cps = byWriter.get(writer) ?? { bySeq: new Map<number, Signed>(), problems: [] };
    reports.push(await verifyWriter(store, writer, cps, opts.pageSize ?? PAGE));
  }
  return { ok: reports.every((r) => r.problem === undefined), writers: reports };
}

async function checkCheckpoints(all: readonly { cp: Checkpoint; source: Signed['source'] }[], publicKey: PublicKeyLookup): Promise<Map<string, WriterCheckpoints>> {
  const out = new Map<string, WriterCheckpoints>();
  const entry = (writer: string): WriterCheckpoints => {
    let e = out.get(writer);
    if (e === undefined) out.set(writer, (e = { bySeq: new Map(), problems: [] }));
    return e;
  };
  const seen = new Map<string, Awaited<ReturnType<typeof verifyCheckpoint>>>();
  for (const { cp, source } of all) {
    let check = seen.get(cp.jws);
    if (check === undefined) seen.set(cp.jws, (check = await verifyCheckpoint(cp, publicKey)));
    if (!check.ok) {
      const where = source === 'external' ? 'the checkpoint file' : 'the database';
      entry(cp.writer).problems.push({ kind: 'bad_signature', seq: cp.seq, detail: `checkpoint at seq ${cp.seq} in ${where}: ${check.problem}` });
      continue;
    }
    const f = check.fields;
    const e = entry(f.writer);
    const before = e.bySeq.get(f.seq);
    if (before !== undefined && before.hash !== f.hash) {
      e.problems.push({ kind: 'checkpoint_mismatch', seq: f.seq, detail: `two signed checkpoints at seq ${f.seq} name different hashes` });
    }
    if (before === undefined || source === 'external') {
      const reason = before?.reason === 'prune' ? 'prune' : f.reason;
      e.bySeq.set(f.seq, { seq: f.seq, hash: f.hash, time: f.time, reason, source });
    } else if (f.reason === 'prune') e.bySeq.set(f.seq, { ...before, reason: 'prune' });
  }
  return out;
}

function firstOf(...problems: (TrailProblem | undefined)[]): TrailProblem | undefined {
  let best: TrailProblem | undefined;
  for (const p of problems) if (p !== undefined && (best === undefined || p.seq < best.seq)) best = p;
  return best;
}

async function verifyWriter(store: VerifiableTrail, writer: string, cps: WriterCheckpoints, pageSize: number): Promise<WriterReport> {
  const report: WriterReport = { writer, records: 0, checkpoints: cps.bySeq.size };
  const seqs = [...cps.bySeq.keys()].sort((a, b) => a - b);
  const prunes = seqs.filter((s) => cps.bySeq.get(s)?.reason === 'prune');
  let i = 0;
  let prev: ChainedRecord | undefined;
  let prevPrev: ChainedRecord | undefined;
  let problem: TrailProblem | undefined;
  /** A checkpoint mismatch at a record that may be an extra one: the next record tells. */
  let suspect: { problem: TrailProblem; before: ChainedRecord | undefined } | undefined;

  const check = (r: ChainedRecord): TrailProblem | undefined => {
    if (suspect !== undefined) {
      const { problem: p, before } = suspect;
      if (before === undefined || r.prevHash !== before.hash) return p;
      return { kind: 'inserted', seq: p.seq, detail: `seq ${p.seq} is not in the signed chain (seq ${r.seq} links to seq ${before.seq})` };
    }
    if (prev === undefined) {
      if (r.seq === 1) {
        if (r.prevHash !== GENESIS_HASH) return { kind: 'edited', seq: 1, detail: 'seq 1 does not start a chain (its prevHash is not the genesis hash)' };
      } else {
        const anchor = cps.bySeq.get(r.seq - 1);
        if (anchor?.reason !== 'prune') {
          const from = (prunes.filter((s) => s < r.seq).at(-1) ?? 0) + 1;
          return { kind: 'deleted', seq: from, detail: `seq ${from}..${r.seq - 1} missing (no retention checkpoint anchors seq ${r.seq})` };
        }
        if (anchor.hash !== r.prevHash) return { kind: 'checkpoint_mismatch', seq: r.seq - 1, detail: `the retention checkpoint at seq ${r.seq - 1} does not sign seq ${r.seq}'s prevHash` };
        report.prunedThrough = r.seq - 1;
      }
      while (i < seqs.length && (seqs[i] as number) < r.seq) i++;
    } else if (r.seq !== prev.seq + 1) {
      return { kind: 'deleted', seq: prev.seq + 1, detail: r.seq === prev.seq + 2 ? `seq ${prev.seq + 1} missing` : `seq ${prev.seq + 1}..${r.seq - 1} missing` };
    }
    if (recordHash(r.prevHash, r.json) !== r.hash) return { kind: 'edited', seq: r.seq, detail: 'hash mismatch (the record differs from what was hashed)' };
    const column = editedColumn(r);
    if (column !== undefined) return { kind: 'edited', seq: r.seq, detail: `column ${column} differs from the hashed event (queries would find the wrong thing)` };
    if (prev !== undefined && r.prevHash !== prev.hash) {
      if (prevPrev !== undefined && r.prevHash === prevPrev.hash) {
        return { kind: 'inserted', seq: prev.seq, detail: `seq ${prev.seq} is not in the chain (seq ${r.seq} links to seq ${prevPrev.seq})` };
      }
      return { kind: 'inserted', seq: r.seq, detail: `prevHash does not link to seq ${prev.seq} (a record was inserted before it, or one removed and the rest renumbered)` };
    }
    const cp = cps.bySeq.get(r.seq);
    if (cp !== undefined) {
      i++;
      if (cp.hash !== r.hash) {
        const from = (report.verifiedThrough?.seq ?? report.prunedThrough ?? 0) + 1;
        const where = cp.source === 'external' ? 'the checkpoint file' : 'the database';
        const span = from === r.seq ? `at seq ${r.seq}` : `between seq ${from} and ${r.seq}`;
        const mismatch: TrailProblem = { kind: 'checkpoint_mismatch', seq: r.seq, detail: `a checkpoint in ${where}, signed at ${cp.time}, names another hash: the chain was rewritten ${span}` };
        suspect = { problem: mismatch, before: prev };
        return undefined;
      }
      report.verifiedThrough = { seq: r.seq, time: cp.time };
    }
    return undefined;
  };

  let from = 1;
  for (;;) {
    const page = await store.records(writer, from, pageSize);
    for (const r of page) {
      problem = check(r);
      if (problem !== undefined) break;
      report.records++;
      report.firstSeq ??= r.seq;
      report.lastSeq = r.seq;
      prevPrev = prev;
      prev = r;
    }
    if (problem !== undefined || page.length < pageSize) break;
    from = (page.at(-1) as ChainedRecord).seq + 1;
  }

  if (problem === undefined && suspect !== undefined) problem = suspect.problem;
  if (problem === undefined && i < seqs.length) {
    const last = seqs.at(-1) as number;
    const lastPrune = prunes.at(-1) ?? 0;
    if (prev === undefined && last === lastPrune) report.prunedThrough = lastPrune;
    else {
      const gone = (prev?.seq ?? lastPrune) + 1;
      const cp = cps.bySeq.get(last) as Signed;
      problem = { kind: 'deleted', seq: gone, detail: `the chain ends at seq ${gone - 1} but a checkpoint signed at ${cp.time} covers seq ${last}: seq ${gone}..${last} deleted` };
    }
  }
  // Checkpoints of records retention removed cover nothing left; their keys may be gone by now.
  const cut = report.prunedThrough ?? 0;
  report.problem = firstOf(problem, ...cps.problems.filter((p) => p.kind !== 'bad_signature' || p.seq >= cut));
  if (report.problem === undefined && prev !== undefined) {
    const signedTo = report.verifiedThrough?.seq ?? report.prunedThrough ?? 0;
    if (prev.seq > signedTo) report.unsignedTail = { from: signedTo + 1, to: prev.seq };
  }
  return report;
}

/** One line per writer, for the CLI and logs. */
export function describeWriter(r: WriterReport): string[] {
  const lines: string[] = [];
  if (r.problem !== undefined) lines.push(`writer ${r.writer}: seq ${r.problem.seq} ${r.problem.kind.replace('_', ' ')} (${r.problem.detail})`);
  else if (r.verifiedThrough !== undefined) lines.push(`writer ${r.writer}: ok through seq ${r.verifiedThrough.seq} (checkpoint at ${r.verifiedThrough.time})`);
  else if (r.prunedThrough !== undefined && r.lastSeq === undefined) lines.push(`writer ${r.writer}: ok, pruned through seq ${r.prunedThrough}`);
  else lines.push(`writer ${r.writer}: no checkpoint${r.prunedThrough === undefined ? '' : ` since the retention cut at seq ${r.prunedThrough}`}`);
  if (r.unsignedTail !== undefined) lines.push(`writer ${r.writer}: unsigned tail seq ${r.unsignedTail.from}..${r.unsignedTail.to} (not verified: no checkpoint yet)`);
  return lines;
}
