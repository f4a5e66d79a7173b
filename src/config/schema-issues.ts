// zod issues -> RawProblems: one problem per unknown key (with a suggestion when a known key is
// close), the key named in record-key errors, and messages that read well after a path.
import type { z } from 'zod';
import type { RawProblem } from './problems.ts';
import { knownKeysAt } from './schema-lookup.ts';

export function problemsFromIssues(issues: readonly z.core.$ZodIssue[]): RawProblem[] {
  const problems: RawProblem[] = [];
  for (const issue of issues) {
    const at = issue.path.map((segment) => (typeof segment === 'number' ? segment : String(segment)));
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) {
        const suggestion = closestKey(key, knownKeysAt(at));
        problems.push({ at: [...at, key], message: `unknown key "${key}"${suggestion ? `; did you mean "${suggestion}"?` : ''}` });
      }
    } else if (issue.code === 'invalid_key') {
      const reasons = issue.issues.map((inner) => inner.message).join('; ');
      problems.push({ at, message: `invalid name ${JSON.stringify(at.at(-1))}: ${reasons}` });
    } else {
      problems.push({ at, message: requiredMessage(issue) ?? issue.message });
    }
  }
  return problems;
}

/** "required (string)" instead of "expected string, received undefined"; needs issues parsed with reportInput. */
function requiredMessage(issue: z.core.$ZodIssue): string | undefined {
  if (!('input' in issue) || issue.input !== undefined) return undefined;
  if (issue.code === 'invalid_type') return `required (${issue.expected})`;
  if (issue.code === 'invalid_value') return `required (${issue.values.map((v) => JSON.stringify(v)).join(' or ')})`;
  return undefined;
}

function closestKey(key: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Math.max(1, Math.floor(key.length / 3)) + 1;
  for (const candidate of known) {
    const distance = editDistance(key.toLowerCase(), candidate.toLowerCase());
    if (distance < bestDistance) [best, bestDistance] = [candidate, distance];
  }
  return best;
}

/** Damerau-Levenshtein (optimal string alignment), so a swapped pair like "auht" costs 1. */
function editDistance(a: string, b: string): number {
  const rows: number[][] = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  const cell = (i: number, j: number): number => rows[i]?.[j] ?? Number.POSITIVE_INFINITY;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let value = Math.min(cell(i - 1, j) + 1, cell(i, j - 1) + 1, cell(i - 1, j - 1) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) value = Math.min(value, cell(i - 2, j - 2) + 1);
      (rows[i] as number[])[j] = value;
    }
  }
  return cell(a.length, b.length);
}
