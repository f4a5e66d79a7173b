// The slice of autocannon's programmatic API that the bench uses (the package ships no types).
declare module 'autocannon' {
  import type { EventEmitter } from 'node:events';

  interface RequestParams {
    method?: string;
    path?: string;
    headers?: Record<string, string>;
    body?: string;
  }

  interface Options {
    url: string;
    connections?: number;
    duration?: number;
    overallRate?: number;
    connectionRate?: number;
    pipelining?: number;
    timeout?: number;
    headers?: Record<string, string>;
    method?: string;
    ignoreCoordinatedOmission?: boolean;
    /** Cycled per connection; setupRequest (when set) rebuilds each request. */
    requests?: { setupRequest?: (req: RequestParams, context: Record<string, unknown>) => RequestParams }[];
  }

  interface Histogram {
    average: number;
    mean: number;
    max: number;
    min: number;
    p50: number;
    p90: number;
    p99: number;
    p99_9: number;
    total: number;
    sent: number;
  }

  interface Result {
    duration: number;
    errors: number;
    timeouts: number;
    non2xx: number;
    resets: number;
    '2xx': number;
    latency: Histogram;
    requests: Histogram;
  }

  interface Client {
    readonly rate?: number;
  }

  interface Instance extends EventEmitter, PromiseLike<Result> {
    on(event: 'response', listener: (client: Client, statusCode: number, resBytes: number, responseTimeMs: number) => void): this;
    on(event: string, listener: (...args: unknown[]) => void): this;
    stop(): void;
  }

  export type { Options, RequestParams };
  function autocannon(opts: Options): Instance;
  export default autocannon;
}
