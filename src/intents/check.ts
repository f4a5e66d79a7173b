// What `cortex check` says about the imported APIs: each document fetched and read, its operations
// without intent or unsupported, changes waiting for approval against the lock in this stage, and
// whether the config with the imported routes would compile.
import type { Config, Stage } from '../config/schema.ts';
import { createRouter } from '../gateway/router.ts';
import { compileSnapshotPolicy } from '../gateway/snapshot-policy.ts';
import { fetchApiDocument } from './document.ts';
import { expandApis } from './expand.ts';
import { applyLock, lockPathFor, readLock } from './lock.ts';
import type { ImportedOperation, IntentState } from './types.ts';

export function formatState(s: IntentState): string {
  const intent = s.intent ?? '(no intent)';
  return s.tags.length > 0 ? `${intent} [${s.tags.join(', ')}]` : intent;
}

export async function checkImportedApis(config: Config, stage: Stage): Promise<{ warnings: string[]; errors: string[] }> {
  const warnings: string[] = [];
  const errors: string[] = [];
  const isProtected = config.policy?.protectedStages.includes(stage) ?? false;
  const documents = new Map<string, { operations: readonly ImportedOperation[] } | undefined>();
  for (const [api, cfg] of Object.entries(config.apis)) {
    documents.set(api, undefined);
    const fetched = await fetchApiDocument(api, cfg);
    if (!fetched.ok) {
      if (cfg.spec.url !== undefined) warnings.push(`apis.${api}: could not fetch ${cfg.spec.url} (not checked): ${fetched.problem}`);
      else errors.push(fetched.problem);
      continue;
    }
    const { operations, problems } = fetched.document;
    warnings.push(...problems);
    const declared = new Set(operations.map((op) => op.key));
    for (const key of Object.keys(cfg.operations)) {
      if (!declared.has(key)) warnings.push(`apis.${api}.operations: "${key}" is not an operation of the document`);
    }
    const path = lockPathFor(api, cfg);
    const lock = readLock(path, api);
    if (!lock.ok) {
      errors.push(`apis.${api}: ${lock.problem}`);
      continue;
    }
    const outcome = applyLock(operations, lock.lock, api, isProtected);
    for (const p of outcome.pending) {
      const what = `${p.key}: ${formatState(p.approved)} → ${formatState(p.proposed)}`;
      warnings.push(
        isProtected
          ? `apis.${api}: ${what} waits for approval; ${stage} serves the approved intent (cortex intents approve --api ${api})`
          : `apis.${api}: ${what} is not approved; ${stage} serves it, protected stages will not until cortex intents approve --api ${api}`,
      );
    }
    documents.set(api, { operations: outcome.operations });
  }
  const expansion = expandApis(config, stage, documents);
  // Unsupported operations were already named by the document's problems.
  warnings.push(...expansion.warnings.filter((w) => !/ is not served \(/.test(w)));
  errors.push(...expansion.problems);
  const compileProblems: string[] = [];
  compileSnapshotPolicy(expansion.config, compileProblems)?.dispose();
  try {
    const routes = Object.entries(expansion.config.routes);
    createRouter(routes.map(([id, rc]) => ({ route: id, host: rc.match.host, methods: rc.match.methods, path: rc.match.path, prefix: rc.match.prefix })));
  } catch (err) {
    compileProblems.push(`routes: ${(err as Error).message}`);
  }
  errors.push(...compileProblems.map((p) => `with the imported routes, ${p}`));
  return { warnings, errors };
}
