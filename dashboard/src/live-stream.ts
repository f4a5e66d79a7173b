// The live feed's connection: EventSource on /api/events with the feed's filters, reopened with
// exponential backoff whenever it fails (the browser's own retry would keep the server's fixed
// interval, and gives up for good on a non-200 answer).
import { query } from './api.ts';
import type { RequestEvent } from './types.ts';

export interface FeedFilters {
  user: string;
  agent: string;
  deniedOnly: boolean;
}

export type StreamState = 'connecting' | 'live' | 'reconnecting';

export interface StreamHandlers {
  onEvent(event: RequestEvent): void;
  onState(state: StreamState): void;
  /** Each time the stream (re)opens, so the view can fill in what it missed. */
  onOpen(): void;
}

const FIRST_RETRY_MS = 1_000;
const MAX_RETRY_MS = 30_000;

export function streamUrl(filters: FeedFilters): string {
  return `/api/events${query({ type: 'request', user: filters.user.trim(), agent: filters.agent.trim(), decision: filters.deniedOnly ? 'deny' : undefined })}`;
}

/** Opens the stream; the returned function closes it for good. */
export function openStream(filters: FeedFilters, handlers: StreamHandlers): () => void {
  let source: EventSource | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let delay = FIRST_RETRY_MS;
  let closed = false;

  const connect = (): void => {
    const es = new EventSource(streamUrl(filters));
    source = es;
    es.addEventListener('open', () => {
      delay = FIRST_RETRY_MS;
      handlers.onState('live');
      handlers.onOpen();
    });
    es.addEventListener('audit', (msg) => {
      try {
        const event = JSON.parse((msg as MessageEvent<string>).data) as RequestEvent;
        if (event.type === 'request') handlers.onEvent(event);
      } catch {
        // one unreadable message is skipped, the stream goes on
      }
    });
    es.addEventListener('error', () => {
      es.close();
      if (closed) return;
      handlers.onState('reconnecting');
      timer = setTimeout(connect, delay);
      delay = Math.min(delay * 2, MAX_RETRY_MS);
    });
  };

  handlers.onState('connecting');
  connect();
  return () => {
    closed = true;
    if (timer !== undefined) clearTimeout(timer);
    source?.close();
  };
}
