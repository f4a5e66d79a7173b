// Stage overrides: which stage applies, and how its `stages.<stage>` block is laid over the file.
import { STAGES } from './schema.ts';
import type { Stage } from './schema.ts';
import type { RawProblem } from './problems.ts';

export type Tree = Record<string, unknown>;

export function isTree(value: unknown): value is Tree {
  return value !== null && typeof value === 'object' && !Array.isArray(value) && Object.getPrototypeOf(value) === Object.prototype;
}

export function isStage(value: unknown): value is Stage {
  return typeof value === 'string' && (STAGES as readonly string[]).includes(value);
}

/**
 * Objects merge key by key, arrays and scalars replace, and `null` in the override deletes the key.
 * Neither input is modified.
 */
export function deepMerge(base: unknown, override: unknown): unknown {
  if (!isTree(override)) return override;
  const out: Tree = isTree(base) ? { ...base } : {};
  for (const [key, value] of Object.entries(override)) {
    if (value === null) delete out[key];
    else out[key] = deepMerge(out[key], value);
  }
  return out;
}

export interface SplitFile {
  base: Tree;
  overrides: Partial<Record<Stage, Tree>>;
}

/** Separates the `stages` block from the rest of the file, checking its shape on the way. */
export function splitStages(file: Tree, problems: RawProblem[]): SplitFile {
  const { stages, ...base } = file;
  const overrides: Partial<Record<Stage, Tree>> = {};
  if (stages === undefined || stages === null) return { base, overrides };
  if (!isTree(stages)) {
    problems.push({ at: ['stages'], message: `must be a mapping from stage (${STAGES.join(', ')}) to overrides` });
    return { base, overrides };
  }
  for (const [name, override] of Object.entries(stages)) {
    if (!isStage(name)) {
      problems.push({ at: ['stages', name], message: `unknown stage "${name}"; stages are ${STAGES.join(', ')}` });
      continue;
    }
    if (override === null) continue;
    if (!isTree(override)) {
      problems.push({ at: ['stages', name], message: 'must be a mapping of overrides' });
      continue;
    }
    if ('stage' in override) {
      problems.push({ at: ['stages', name, 'stage'], message: 'a stage override cannot set the stage' });
    }
    if ('stages' in override) {
      problems.push({ at: ['stages', name, 'stages'], message: 'stage overrides cannot be nested' });
    }
    const { stage: _stage, stages: _stages, ...rest } = override;
    overrides[name] = rest;
  }
  return { base, overrides };
}

export type StageChoice = { ok: true; stage: Stage } | { ok: false; message: string };

/** The stage is the caller's, else CORTEX_STAGE, else the file's `stage` key, else dev. */
export function chooseStage(requested: string | undefined, fromEnv: string | undefined, fromFile: unknown): StageChoice {
  const candidates: [unknown, string][] = [
    [requested, 'the requested stage'],
    [fromEnv === '' ? undefined : fromEnv, 'CORTEX_STAGE'],
    [fromFile, 'the stage key'],
  ];
  for (const [value, source] of candidates) {
    if (value === undefined || value === null) continue;
    if (isStage(value)) return { ok: true, stage: value };
    return { ok: false, message: `unknown stage ${JSON.stringify(value)} from ${source}; stages are ${STAGES.join(', ')}` };
  }
  return { ok: true, stage: 'dev' };
}
