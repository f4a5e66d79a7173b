// Reads a test gateway's JSON-lines audit file back, every event (request and system), whether a
// line is a bare event or a chained record `{ writer, seq, prevHash, hash, event }`.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AuditEvent, SystemAction, SystemAuditEvent } from '../../../src/audit/event.ts';
import type { TestGateway } from '../../helpers/gateway.ts';
import { eventually } from '../../helpers/gateway-checks.ts';

export async function allEvents(gw: TestGateway): Promise<AuditEvent[]> {
  await gw.runtime.gateway.flushAudit();
  let text = '';
  try {
    text = readFileSync(join(gw.dir, 'audit.jsonl'), 'utf8');
  } catch {
    return [];
  }
  return text
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => {
      const line = JSON.parse(l) as AuditEvent | { event: AuditEvent };
      return 'event' in line ? line.event : line;
    });
}

/** The system events of `action` so far. */
export async function systemEvents(gw: TestGateway, action: SystemAction): Promise<SystemAuditEvent[]> {
  return (await allEvents(gw)).filter((e): e is SystemAuditEvent => e.type === 'system' && e.action === action);
}

/** Waits (bounded) until at least `count` events of `action` exist, then returns them all. */
export async function waitSystem(gw: TestGateway, action: SystemAction, count = 1): Promise<SystemAuditEvent[]> {
  return eventually(async () => {
    const found = await systemEvents(gw, action);
    return found.length >= count ? found : undefined;
  }, `${count} ${action} event(s)`);
}
