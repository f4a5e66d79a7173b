// The imported APIs in a snapshot: the base config (as loaded) expanded with each API's served
// operations as routes (intents/expand.ts), and the catch-all routes that deny what the documents
// do not declare. The base config is kept by the Gateway so a document change rebuilds from it.
import type { Logger } from 'pino';
import type { Config, Stage } from '../config/schema.ts';
import { expandApis } from '../intents/expand.ts';
import type { ApiDocuments, UndeclaredRoute } from '../intents/types.ts';
import { SnapshotError } from './snapshot.ts';

export interface ExpandedConfig {
  readonly config: Config;
  readonly undeclared: ReadonlyMap<string, UndeclaredRoute>;
}

/**
 * Throws SnapshotError on the expansion's problems. Warnings (operations without intent, clashes
 * with config routes) are logged once each: `reported` holds the ones already logged.
 */
export function expandImportedApis(config: Config, stage: Stage, documents: ApiDocuments, log: Logger, reported: Set<string>): ExpandedConfig {
  if (Object.keys(config.apis).length === 0) return { config, undeclared: new Map() };
  const expansion = expandApis(config, stage, documents);
  if (expansion.problems.length > 0) throw new SnapshotError(expansion.problems.map((p) => (p.startsWith('apis') ? p : `apis: ${p}`)));
  const now = new Set(expansion.warnings);
  for (const w of now) if (!reported.has(w)) log.warn({ stage }, w);
  reported.clear();
  for (const w of now) reported.add(w);
  return { config: expansion.config, undeclared: expansion.undeclared };
}
