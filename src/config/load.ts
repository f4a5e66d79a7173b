// The control plane's front door: YAML text in, a validated, deeply frozen Config out, or every
// problem with its path, line and (across stages) stage. Synchronous and without network I/O.
import { readFileSync } from 'node:fs';
import { baseConfigSchema, STAGES } from './schema.ts';
import type { Config, Stage } from './schema.ts';
import { EnvTemplate, resolveTemplates, substitute } from './env.ts';
import { chooseStage, deepMerge, isStage, splitStages } from './merge.ts';
import type { Tree } from './merge.ts';
import { byLine, toConfigProblem } from './problems.ts';
import type { ConfigProblem, LineIndex, PathSegment, RawProblem } from './problems.ts';
import { problemsFromIssues } from './schema-issues.ts';
import { typesAt } from './schema-lookup.ts';
import { checkRawTree, checkSemantics } from './semantic.ts';
import { parseYaml } from './yaml-tree.ts';

export type { ConfigProblem } from './problems.ts';

export interface LoadOptions {
  /** Path of the file; read unless `text` is given, in which case it only names the source. */
  file?: string;
  text?: string;
  stage?: Stage;
  env?: NodeJS.ProcessEnv;
}

export type LoadResult =
  | { ok: true; config: Config; stage: Stage; warnings: ConfigProblem[] }
  | { ok: false; errors: ConfigProblem[] };

export function loadConfig(opts: LoadOptions): LoadResult {
  const source = readSource(opts);
  if (!source.ok) return { ok: false, errors: [source.problem] };
  const env = opts.env ?? process.env;
  const parsed = parseYaml(source.text);
  if (parsed.tree === undefined) return { ok: false, errors: finish(parsed.errors, parsed.lines, undefined) };

  const problems: RawProblem[] = [];
  const { base, overrides } = splitStages(parsed.tree, problems);
  const fileStage = resolveOne(base.stage, ['stage'], env, problems);
  if (fileStage !== undefined && fileStage !== null && !isStage(fileStage)) {
    problems.push({ at: ['stage'], message: `unknown stage ${JSON.stringify(fileStage)}; stages are ${STAGES.join(', ')}` });
  }
  const choice = chooseStage(opts.stage, env.CORTEX_STAGE, isStage(fileStage) ? fileStage : undefined);
  if (!choice.ok) problems.push({ at: [], message: choice.message });
  const stage = choice.ok ? choice.stage : undefined;

  const override = stage === undefined ? undefined : overrides[stage];
  const { stage: _fileStage, ...merged } = (override ? deepMerge(base, override) : base) as Tree;
  // With an unknown stage the base alone is still validated, so that the other problems show too.
  const tree: Tree = stage === undefined ? merged : { ...merged, stage };
  const { value, failed } = resolveTemplates(tree, env, typesAt, problems);
  const parsedConfig = baseConfigSchema.safeParse(value, { reportInput: true });
  if (!parsedConfig.success) {
    // A value whose substitution failed has already been reported; the schema's complaint about it is noise.
    const issues = problemsFromIssues(parsedConfig.error.issues);
    problems.push(...issues.filter((issue) => !failed.some((at) => startsWith(issue.at, at))));
    const reported = new Set(problems.map((p) => p.at.join('\u0000')));
    problems.push(...checkRawTree(value).filter((p) => !reported.has(p.at.join('\u0000'))));
  }
  if (problems.length > 0 || !parsedConfig.success || stage === undefined) {
    return { ok: false, errors: finish(problems, parsed.lines, stage) };
  }

  const semantic = checkSemantics(parsedConfig.data);
  if (semantic.errors.length > 0) return { ok: false, errors: finish(semantic.errors, parsed.lines, stage) };
  return {
    ok: true,
    config: deepFreeze(parsedConfig.data),
    stage,
    warnings: finish([...parsed.warnings, ...semantic.warnings], parsed.lines, stage),
  };
}

export interface StageCheckOptions {
  file?: string;
  text?: string;
  env?: NodeJS.ProcessEnv;
  /** Defaults to every stage in STAGES. */
  stages?: readonly Stage[];
}

export interface StageCheckResult {
  errors: ConfigProblem[];
  warnings: ConfigProblem[];
}

/**
 * Loads the file once per stage. A problem found in every checked stage (when more than one is
 * checked) is reported once without a stage; any other carries the stage it was found in.
 */
export function checkStages(opts: StageCheckOptions): StageCheckResult {
  const stages = opts.stages ?? STAGES;
  const source = readSource(opts);
  if (!source.ok) return { errors: [source.problem], warnings: [] };
  const errors: [Stage, ConfigProblem[]][] = [];
  const warnings: [Stage, ConfigProblem[]][] = [];
  for (const stage of stages) {
    const result = loadConfig({ text: source.text, stage, ...(opts.env ? { env: opts.env } : {}) });
    errors.push([stage, result.ok ? [] : result.errors]);
    warnings.push([stage, result.ok ? result.warnings : []]);
  }
  return { errors: combineStages(errors, stages.length), warnings: combineStages(warnings, stages.length) };
}

/** Every error of the file under every stage in STAGES. */
export function checkAllStages(opts: Omit<StageCheckOptions, 'stages'>): ConfigProblem[] {
  return checkStages(opts).errors;
}

function combineStages(perStage: readonly [Stage, ConfigProblem[]][], stageCount: number): ConfigProblem[] {
  const found = new Map<string, { problem: ConfigProblem; stages: Stage[] }>();
  for (const [stage, problems] of perStage) {
    for (const problem of problems) {
      const key = JSON.stringify([problem.path, problem.message, problem.line]);
      const entry = found.get(key) ?? { problem, stages: [] };
      entry.stages.push(stage);
      found.set(key, entry);
    }
  }
  return [...found.values()].flatMap(({ problem, stages }) =>
    stageCount > 1 && stages.length === stageCount ? [problem] : stages.map((stage) => ({ ...problem, stage })),
  );
}

type Source = { ok: true; text: string } | { ok: false; problem: ConfigProblem };

function readSource(opts: { file?: string; text?: string }): Source {
  if (opts.text !== undefined) return { ok: true, text: opts.text };
  if (opts.file === undefined) return { ok: false, problem: { path: '', message: 'no config given (a file or its text)' } };
  try {
    return { ok: true, text: readFileSync(opts.file, 'utf8') };
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    return { ok: false, problem: { path: '', message: `cannot read ${opts.file} (${reason})` } };
  }
}

function resolveOne(value: unknown, at: PathSegment[], env: NodeJS.ProcessEnv, problems: RawProblem[]): unknown {
  if (!(value instanceof EnvTemplate)) return value;
  const result = substitute(value, env);
  if (result.ok) return result.text;
  for (const message of result.messages) problems.push({ at, message, line: value.line });
  return undefined;
}

function startsWith(path: readonly PathSegment[], prefix: readonly PathSegment[]): boolean {
  return prefix.length <= path.length && prefix.every((segment, index) => path[index] === segment);
}

function finish(problems: readonly RawProblem[], lines: LineIndex, stage: Stage | undefined): ConfigProblem[] {
  return problems.map((problem) => toConfigProblem(problem, lines, stage)).sort(byLine);
}

/** Freezes a value and everything reachable from it, so a snapshot cannot change under a request. */
export function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}
