// How the control plane reports what is wrong with a config file: a dotted path into the file, a
// message a person can act on, and where known the line and the stage it applies to.
import type { Stage } from './schema.ts';

export interface ConfigProblem {
  path: string;
  message: string;
  line?: number;
  stage?: Stage;
}

export type PathSegment = string | number;

/** A problem before its path is formatted and its line looked up. */
export interface RawProblem {
  at: readonly PathSegment[];
  message: string;
  line?: number;
}

const PLAIN_KEY = /^[A-Za-z0-9_$-]+$/;

/** `routes.orders-list.match.path`, `gateway.trustedProxies[1]`; keys with dots are quoted. */
export function formatPath(at: readonly PathSegment[]): string {
  let out = '';
  for (const segment of at) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else if (PLAIN_KEY.test(segment)) out += out === '' ? segment : `.${segment}`;
    else out += `[${JSON.stringify(segment)}]`;
  }
  return out;
}

/** Source lines of the nodes of a parsed YAML file, by path. */
export class LineIndex {
  readonly #lines = new Map<string, number>();

  set(at: readonly PathSegment[], line: number | undefined): void {
    if (line !== undefined) this.#lines.set(JSON.stringify(at), line);
  }

  get(at: readonly PathSegment[]): number | undefined {
    return this.#lines.get(JSON.stringify(at));
  }

  /**
   * The line of the node at `at`, or of its nearest ancestor that has one (a missing key is
   * reported on the object that lacks it). A value that a stage override supplies is found under
   * `stages.<stage>` first, because that is where the merged value came from.
   */
  locate(at: readonly PathSegment[], stage: Stage | undefined): number | undefined {
    for (let length = at.length; length > 0; length--) {
      const prefix = at.slice(0, length);
      const line = (stage && this.get(['stages', stage, ...prefix])) ?? this.get(prefix);
      if (line !== undefined) return line;
    }
    return undefined;
  }
}

export function toConfigProblem(raw: RawProblem, lines: LineIndex | undefined, stage: Stage | undefined): ConfigProblem {
  const problem: ConfigProblem = { path: formatPath(raw.at), message: raw.message };
  const line = raw.line ?? lines?.locate(raw.at, stage);
  if (line !== undefined) problem.line = line;
  return problem;
}

/** Whole-file problems (no line) first, then by line; ties keep the order they were found in. */
export function byLine(a: ConfigProblem, b: ConfigProblem): number {
  return (a.line ?? 0) - (b.line ?? 0);
}
