// The audit section of the config schema: where events are recorded (durably), the spool that
// holds them while a sink is down, the signed checkpoints of each writer's hash chain, retention.
import { z } from 'zod';
import { durationMs } from './schema-common.ts';

const DAY_MS = 86_400_000;

export const auditSink = z.discriminatedUnion('type', [
  z
    .strictObject({
      type: z.literal('sqlite'),
      path: z.string().min(1).default('.cortex/audit.db').describe('The database file (WAL mode); relative to the working directory.'),
    })
    .describe('Embedded SQLite (node:sqlite): one host. Queryable (cortex audit, GET /api/audit).'),
  z
    .strictObject({
      type: z.literal('postgres'),
      url: z.string().min(1).describe('postgres:// connection string (use ${ENV_VAR} for the password).'),
      table: z.string().regex(/^[a-z_][a-z0-9_]*$/).default('cortex_audit_events').describe('Table of events (created if missing); checkpoints go to <table>_checkpoints.'),
    })
    .describe('PostgreSQL: a fleet writes one trail. Queryable.'),
  z
    .strictObject({
      type: z.literal('jsonl'),
      path: z.string().default('stdout').describe("File path, or 'stdout'."),
    })
    .describe('One JSON object per line (each with its chain fields).'),
]);

const checkpointTarget = z
  .discriminatedUnion('type', [
    z.strictObject({ type: z.literal('file'), path: z.string().min(1).describe('A JSON-lines file of checkpoints (keep it apart from the database: another disk, another host).') }),
    z.strictObject({ type: z.literal('stdout') }).describe('One JSON line per checkpoint on stdout (a log pipeline keeps them apart from the database).'),
  ])
  .describe('The second place signed checkpoints go, so that rewriting the database and its chain, or deleting its newest events, is detected.');

export const audit = z
  .strictObject({
    sinks: z
      .array(auditSink)
      .default([{ type: 'sqlite', path: '.cortex/audit.db' }])
      .describe('Every sink receives every event; the first sqlite or postgres sink answers queries. [] turns the trail off.'),
    spool: z
      .strictObject({
        dir: z.string().min(1).default('.cortex/audit-spool').describe('Where events wait (one file per sink) while their sink is down; replayed in order when it is back.'),
        maxBytes: z.number().int().min(1_048_576).default(1_073_741_824).describe('Largest spool per sink; past it events are dropped (counted in cortex_audit_dropped_total), or traffic refused with failClosed.'),
      })
      .prefault({})
      .describe('Nothing is lost while a sink is down: events spool to a local file.'),
    failClosed: z
      .boolean()
      .default(false)
      .describe('Refuse traffic (503 audit.unavailable) when an event could not be recorded anywhere (every sink down and the spool full or unwritable), for teams that must never serve unrecorded.'),
    checkpoints: checkpointTarget.optional().describe('Where each writer\'s signed chain head goes after committed batches (see checkpointIntervalMs) and at shutdown; also stored beside the events. Without it, checkpoints are only stored beside the events.'),
    checkpointIntervalMs: durationMs
      .default(10_000)
      .describe(
        'Least time between two batch checkpoints of a writer; the shutdown and retention checkpoints are always made. Events committed since the last checkpoint are an unsigned tail until the next one.',
      ),
    batch: z
      .strictObject({
        maxEvents: z.number().int().min(1).max(100_000).default(1000).describe('Most events in one transaction.'),
        maxDelayMs: durationMs.default(200).describe('Longest an event waits before its batch is written.'),
      })
      .prefault({})
      .describe('Events are written in batched transactions, off the request path.'),
    retention: z
      .strictObject({
        maxAgeMs: z.number().int().min(DAY_MS).optional().describe('Events older than this are pruned (a signed checkpoint at the cut keeps the rest verifiable); kept forever when unset.'),
        pruneIntervalMs: durationMs.default(3_600_000).describe('How often the prune runs.'),
      })
      .prefault({})
      .describe('How long events are kept.'),
  })
  .describe('The audit trail: one event per request (and per token exchange, key rotation, reload, intent approval, API key change and admin call), hash-chained per writer, signed, queryable.');
