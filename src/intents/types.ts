// The contract between the parts of the intents plane (src/intents/): an upstream's OpenAPI
// document read into operations with intents (document.ts, mapping.ts), the approved intents kept
// in a lock file (lock.ts), the operations turned into routes (expand.ts), and the runtime that
// refreshes documents while the gateway runs (runtime.ts).
import type { Config, ImportedApiConfig, Stage } from '../config/schema.ts';

export type OperationMethod = 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE' | 'OPTIONS';

/** Where an operation's intent came from. */
export type IntentSource = 'config' | 'x-cortex-intent' | 'scope' | 'rule' | 'none';

export interface ImportedOperation {
  readonly api: string;
  /** METHOD and path template as the document names them: 'GET /orders/{id}'. */
  readonly key: string;
  readonly method: OperationMethod;
  /** The document's path template (/orders/{id}), without the api's prefix. */
  readonly path: string;
  readonly operationId?: string;
  /** Undefined: the operation has no intent; it is denied (authz.no_intent) and reported. */
  readonly intent?: string;
  readonly tags: readonly string[];
  readonly source: IntentSource;
  /** Set when the operation cannot be served as a route (a {param} inside a segment, ...): it is denied and reported. */
  readonly problem?: string;
}

/** One fetch of one API's document, read into operations. */
export interface ApiDocument {
  readonly api: string;
  readonly operations: readonly ImportedOperation[];
  /** SHA-256 of the document's bytes: a refresh with the same digest changes nothing. */
  readonly digest: string;
  readonly fetchedAt: number;
  /** Problems reading it that do not stop the rest (an operation with a bad x-cortex-intent, ...). */
  readonly problems: readonly string[];
}

export type FetchResult = { ok: true; document: ApiDocument } | { ok: false; problem: string };

/** An intent (or no intent: null) and its tags, as approved or as the document now says. */
export interface IntentState {
  readonly intent: string | null;
  readonly tags: readonly string[];
}

/** A change to an existing operation's intent or tags, held in a protected stage until approved. */
export interface PendingChange {
  readonly api: string;
  readonly key: string;
  readonly approved: IntentState;
  readonly proposed: IntentState;
}

/** The lock file: the approved intent of every operation an API has had. */
export interface IntentLock {
  readonly version: 1;
  readonly api: string;
  readonly operations: Readonly<Record<string, IntentState & { readonly approvedAt: string }>>;
}

/** What applying the lock to a document gives: the operations as they are served, what waits, and the new lock. */
export interface LockOutcome {
  /** The operations with the intent that holds: in a protected stage a changed one keeps its approved intent. */
  readonly operations: readonly ImportedOperation[];
  readonly pending: readonly PendingChange[];
  /** The lock with new operations added (new endpoints need no approval); undefined when unchanged. */
  readonly updatedLock?: IntentLock;
}

/** A route id the expansion added that denies every request (a path under the prefix the document does not declare). */
export interface UndeclaredRoute {
  readonly api: string;
  readonly prefix: string;
}

export interface Expansion {
  /** The config with the imported routes added to config.routes (config's own routes win on a clash). */
  readonly config: Config;
  /** Route id → the catch-all it is: every request to it is denied with authz.undeclared_operation. */
  readonly undeclared: ReadonlyMap<string, UndeclaredRoute>;
  /** Operations without an intent, unsupported ones, clashes: for the log, the metrics and cortex check. */
  readonly warnings: readonly string[];
  readonly problems: readonly string[];
}

/** The documents the runtime holds, by api name (undefined: never fetched successfully). */
export type ApiDocuments = ReadonlyMap<string, { operations: readonly ImportedOperation[] } | undefined>;

export type ExpandFn = (config: Config, stage: Stage, documents: ApiDocuments) => Expansion;
export type { ImportedApiConfig };
