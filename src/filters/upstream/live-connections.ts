// The long-lived connections (relayed WebSockets, event streams) open right now with a delegated
// token, so that a revocation of that token (by jti, agent or person) closes them at once instead
// of at their lifetime cap. One registry per gateway; only delegated tokens are tracked.
import type { DelegatedTokenRef } from '../../credentials/types.ts';

interface LiveConnection {
  readonly token: DelegatedTokenRef;
  /** Ends the connection, recorded as connection.token_revoked. */
  readonly close: () => void;
}

export class LiveConnections {
  private readonly open = new Set<LiveConnection>();

  /** Tracks a connection until the returned function is called (when it closes for any reason). */
  add(token: DelegatedTokenRef, close: () => void): () => void {
    const entry: LiveConnection = { token, close };
    this.open.add(entry);
    return () => this.open.delete(entry);
  }

  /** Closes every connection whose token `revoked` now refuses; returns how many. */
  closeWhere(revoked: (token: DelegatedTokenRef) => boolean): number {
    let closed = 0;
    for (const entry of [...this.open]) {
      if (!revoked(entry.token)) continue;
      this.open.delete(entry);
      entry.close();
      closed++;
    }
    return closed;
  }

  get size(): number {
    return this.open.size;
  }
}
