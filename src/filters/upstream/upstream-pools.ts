// undici pools, one per upstream, shared across snapshots while the upstream's settings are
// unchanged, so a reload does not drop warm keep-alive connections.
import { Pool } from 'undici';
import type { UpstreamConfig } from '../../config/schema.ts';

export interface UpstreamTarget {
  readonly name: string;
  readonly pool: Pool;
  /** Path of the upstream URL without its trailing slash ('' for the root). */
  readonly basePath: string;
  /** Host header to send, or undefined to keep the client's. */
  readonly hostHeader: string | undefined;
  readonly timeoutMs: number;
}

export class UpstreamPools {
  private readonly pools = new Map<string, { pool: Pool; refs: Set<number> }>();

  /** The target for `name` in snapshot `generation`, reusing an existing pool for identical settings. */
  acquire(name: string, cfg: UpstreamConfig, generation: number): UpstreamTarget {
    const url = new URL(cfg.url);
    const key = JSON.stringify([url.origin, cfg.connections, cfg.connectTimeoutMs, cfg.keepAliveTimeoutMs]);
    let entry = this.pools.get(key);
    if (!entry) {
      const pool = new Pool(url.origin, {
        connections: cfg.connections,
        pipelining: 1,
        connectTimeout: cfg.connectTimeoutMs,
        keepAliveTimeout: cfg.keepAliveTimeoutMs,
        headersTimeout: cfg.timeoutMs,
        bodyTimeout: cfg.timeoutMs,
      });
      entry = { pool, refs: new Set() };
      this.pools.set(key, entry);
    }
    entry.refs.add(generation);
    const basePath = url.pathname.endsWith('/') ? url.pathname.slice(0, -1) : url.pathname;
    return {
      name,
      pool: entry.pool,
      basePath,
      hostHeader: cfg.host === 'upstream' ? url.host : undefined,
      timeoutMs: cfg.timeoutMs,
    };
  }

  /** Drops a snapshot's references; pools no snapshot uses close once their requests finish. */
  release(generation: number): Promise<void> {
    const closing: Promise<void>[] = [];
    for (const [key, entry] of this.pools) {
      entry.refs.delete(generation);
      if (entry.refs.size === 0) {
        this.pools.delete(key);
        closing.push(entry.pool.close());
      }
    }
    return Promise.all(closing).then(() => undefined);
  }

  async closeAll(): Promise<void> {
    const all = [...this.pools.values()].map((e) => e.pool.close());
    this.pools.clear();
    await Promise.all(all);
  }
}
