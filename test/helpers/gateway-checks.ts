// Assertions shared by the gateway integration tests: what the client got (a problem+json reply
// whose requestId is the x-request-id header), and the one audit event written for a request.
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import type { Socket } from 'node:net';
import { request } from 'undici';
import type { Dispatcher } from 'undici';
import type { RequestAuditEvent } from '../../src/audit/event.ts';
import type { TestGateway } from './gateway.ts';
import { parseResponse } from './raw-http.ts';
import type { RawResponse } from './raw-http.ts';

export interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

export interface SendOptions {
  method?: Dispatcher.HttpMethod;
  headers?: Record<string, string | string[]>;
  body?: string | Buffer | NodeJS.ReadableStream;
}

/** One request with undici; the body read as text. */
export async function send(url: string, opts: SendOptions = {}): Promise<Reply> {
  const res = await request(url, {
    method: opts.method ?? 'GET',
    headers: opts.headers,
    body: opts.body as Dispatcher.DispatchOptions['body'],
  });
  const body = await res.body.text();
  return { status: res.statusCode, headers: res.headers, body };
}

export function header(reply: Pick<Reply, 'headers'>, name: string): string | undefined {
  const v = reply.headers[name];
  return Array.isArray(v) ? v.join(', ') : v;
}

/**
 * Asserts a problem+json reply with `status` and `code`, whose `requestId` equals the response's
 * x-request-id header. Returns the request id.
 */
export function assertProblem(reply: Reply, status: number, code: string, label = ''): string {
  const where = `${label} ${reply.status} ${reply.body}`;
  assert.equal(reply.status, status, `status: ${where}`);
  assert.match(String(header(reply, 'content-type')), /^application\/problem\+json/, `content-type: ${where}`);
  const body = JSON.parse(reply.body) as Record<string, unknown>;
  assert.equal(body.code, code, `code: ${where}`);
  assert.equal(body.status, status, `body status: ${where}`);
  assert.equal(body.type, `https://cortex.dev/errors/${code}`);
  for (const key of ['title', 'detail', 'requestId']) assert.equal(typeof body[key], 'string', `${key}: ${where}`);
  const id = header(reply, 'x-request-id');
  assert.ok(id, `x-request-id header: ${where}`);
  assert.equal(body.requestId, id, `requestId equals x-request-id: ${where}`);
  assert.doesNotMatch(reply.body, /at .*\.ts:\d+/, 'no stack trace');
  return id;
}

/** Polls `check` until it returns a value other than undefined, or fails after `timeoutMs`. */
export async function eventually<T>(check: () => T | undefined | Promise<T | undefined>, what: string, timeoutMs = 3_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/**
 * The audit event for request `id`: waits (bounded) for it to be written, then asserts that there
 * is exactly one and that its outcome code is `code`.
 */
export async function auditFor(gw: TestGateway, id: string, code: string): Promise<RequestAuditEvent> {
  const first = await eventually(async () => {
    const events = (await gw.audit()).filter((e) => e.id === id);
    return events.length > 0 ? events : undefined;
  }, `the audit event for ${id}`);
  const events = (await gw.audit()).filter((e) => e.id === id);
  assert.equal(events.length, 1, `exactly one audit event for ${id}, got ${JSON.stringify(first)}`);
  const event = events[0] as RequestAuditEvent;
  assert.equal(event.outcome.code, code, `audit outcome.code for ${id}: ${JSON.stringify(event.outcome)}`);
  return event;
}

/** The audit events for requests matching `pred` (e.g. by path), waiting until `count` exist. */
export async function auditWhere(gw: TestGateway, pred: (e: RequestAuditEvent) => boolean, count = 1): Promise<RequestAuditEvent[]> {
  await eventually(async () => ((await gw.audit()).filter(pred).length >= count ? true : undefined), `${count} matching audit event(s)`);
  return (await gw.audit()).filter(pred);
}

/** A raw connection that collects everything the server sends, and knows when it closed. */
export interface RawConnection {
  socket: Socket;
  write(bytes: string | Buffer): void;
  /** Everything received so far (latin1). */
  text(): string;
  /** Resolves when the server ended or reset the connection, or with false after `timeoutMs`. */
  closed(timeoutMs?: number): Promise<boolean>;
  /** Resolves once the received text satisfies `pred`, or fails after `timeoutMs`. */
  until(pred: (text: string) => boolean, timeoutMs?: number): Promise<string>;
  destroy(): void;
}

export async function openRaw(port: number): Promise<RawConnection> {
  const socket = connect(port, '127.0.0.1');
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  const chunks: Buffer[] = [];
  let ended = false;
  const waiters = new Set<() => void>();
  const wake = () => {
    for (const w of waiters) w();
  };
  socket.on('data', (c: Buffer) => {
    chunks.push(c);
    wake();
  });
  socket.on('error', () => {});
  socket.on('close', () => {
    ended = true;
    wake();
  });
  const text = () => Buffer.concat(chunks).toString('latin1');
  const wait = (done: () => boolean, timeoutMs: number) =>
    new Promise<boolean>((resolve) => {
      if (done()) return resolve(true);
      const w = () => {
        if (!done()) return;
        clearTimeout(timer);
        waiters.delete(w);
        resolve(true);
      };
      const timer = setTimeout(() => {
        waiters.delete(w);
        resolve(false);
      }, timeoutMs);
      waiters.add(w);
    });
  return {
    socket,
    write: (bytes) => socket.write(bytes),
    text,
    closed: (timeoutMs = 2_000) => wait(() => ended, timeoutMs),
    async until(pred, timeoutMs = 3_000) {
      const ok = await wait(() => pred(text()) || ended, timeoutMs);
      if (!ok || !pred(text())) assert.fail(`raw response not as expected; got: ${JSON.stringify(text())}`);
      return text();
    },
    destroy: () => socket.destroy(),
  };
}

/** True once `text` holds a whole response head and its body (content-length or chunked). */
export function responseComplete(text: string): boolean {
  const end = text.indexOf('\r\n\r\n');
  if (end === -1) return false;
  const head = text.slice(0, end);
  if (/\r\ntransfer-encoding:[ \t]*chunked/i.test(head)) return text.endsWith('\r\n0\r\n\r\n');
  const m = /\r\ncontent-length:[ \t]*(\d+)/i.exec(head);
  return m !== null && text.length - end - 4 >= Number(m[1]);
}

/**
 * Sends `bytes` on a fresh connection and reads the first response without waiting for the
 * server to close (keep-alive replies come back at once). The connection is returned open.
 */
export async function rawExchange(port: number, bytes: string | Buffer): Promise<{ res: RawResponse; conn: RawConnection }> {
  const conn = await openRaw(port);
  conn.write(bytes);
  await conn.until((t) => responseComplete(t));
  return { res: parseResponse(conn.text()), conn };
}
