// Reads a Server-Sent Events stream from the admin listener (undici), message by message, so the
// tests can wait (bounded) for the events they expect, or hold the stream unread.
import { request } from 'undici';
import type { Dispatcher } from 'undici';

export interface SseMessage {
  id?: string;
  event: string;
  data: string;
  retry?: number;
}

export interface SseStream {
  status: number;
  headers: Dispatcher.ResponseData['headers'];
  /** Resolves with the first message (from now on, or already received and not yet taken) that `pick` accepts; rejects after timeoutMs. */
  next(pick: (m: SseMessage) => boolean, timeoutMs?: number, what?: string): Promise<SseMessage>;
  /** Every message received so far. */
  received(): SseMessage[];
  /** Stops consuming (undici then stops reading the socket once its buffer fills). */
  pause(): void;
  resume(): void;
  /** Resolves when the stream stops: 'end' when the server ended it cleanly, 'error' when the connection was cut. */
  ended: Promise<'end' | 'error'>;
  close(): void;
}

function parseBlock(block: string): SseMessage | undefined {
  const m: SseMessage = { event: 'message', data: '' };
  const data: string[] = [];
  let any = false;
  for (const line of block.split('\n')) {
    if (line === '' || line.startsWith(':')) continue;
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    const value = colon === -1 ? '' : line.slice(colon + 1).replace(/^ /, '');
    any = true;
    if (field === 'data') data.push(value);
    else if (field === 'event') m.event = value;
    else if (field === 'id') m.id = value;
    else if (field === 'retry') m.retry = Number(value);
  }
  if (!any) return undefined;
  m.data = data.join('\n');
  return m;
}

export async function openSse(url: string, headers: Record<string, string>): Promise<SseStream> {
  const controller = new AbortController();
  const res = await request(url, { headers: { accept: 'text/event-stream', ...headers }, signal: controller.signal });
  const messages: SseMessage[] = [];
  let taken = 0;
  const waiters = new Set<() => void>();
  let buffer = '';
  res.body.setEncoding('utf8');
  const ended = new Promise<'end' | 'error'>((resolve) => {
    res.body.on('end', () => resolve('end'));
    res.body.on('error', () => resolve('error'));
  });
  res.body.on('data', (chunk: string) => {
    buffer += chunk;
    let cut: number;
    while ((cut = buffer.indexOf('\n\n')) !== -1) {
      const msg = parseBlock(buffer.slice(0, cut));
      buffer = buffer.slice(cut + 2);
      if (msg !== undefined) messages.push(msg);
    }
    for (const w of waiters) w();
  });
  return {
    status: res.statusCode,
    headers: res.headers,
    received: () => [...messages],
    pause: () => res.body.pause(),
    resume: () => res.body.resume(),
    ended,
    close: () => controller.abort(),
    next(pick, timeoutMs = 10_000, what = 'an SSE message') {
      return new Promise((resolve, reject) => {
        const look = (): boolean => {
          for (let i = taken; i < messages.length; i++) {
            const m = messages[i] as SseMessage;
            if (pick(m)) {
              taken = i + 1;
              resolve(m);
              return true;
            }
          }
          return false;
        };
        if (look()) return;
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`timed out waiting for ${what}; received ${messages.length} message(s)`));
        }, timeoutMs);
        const check = (): void => {
          if (look()) {
            clearTimeout(timer);
            waiters.delete(check);
          }
        };
        waiters.add(check);
      });
    },
  };
}
