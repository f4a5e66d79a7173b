// Cedar policies generated from the grants, one readable policy per source, each @id naming it:
//   grant:<role>:<pattern>          users and services holding the role
//   agent:<role>:<pattern>          an agent holding the role, acting for no one
//   agent:<role>:<pattern>&person:<roles>   an agent acting for a person who holds one of <roles>
//   agent-forbid:<tag>              agents are never allowed intents with the tag
// An agent acting for a person gets at most the intersection of its grants and the person's: its
// permits name the intents its role covers, grouped by which person roles also hold them.
import { policySetTextToParts } from '@cedar-policy/cedar-wasm/nodejs';
import { policyJson } from './policy-json.ts';
import type { DetailedError } from '@cedar-policy/cedar-wasm/nodejs';
import type { PolicyInput } from './input.ts';
import { actionRef, actionScope, cedarString, entityRef, patternCovers, tagGroup } from './schema.ts';
import type { ActionCatalog } from './schema.ts';

export interface SourcedPolicy {
  readonly id: string;
  readonly text: string;
  /** 'generated' or the hand-written file's path. */
  readonly source: string;
  readonly line?: number;
}

export function generatePolicies(input: PolicyInput, catalog: ActionCatalog): SourcedPolicy[] {
  const out: SourcedPolicy[] = [];
  const add = (id: string, text: string): void => {
    out.push({ id, text: `@id(${cedarString(id)})\n${text}`, source: 'generated' });
  };
  const grants = Object.entries(input.grants);
  // Who holds an intent is the same for every grant that covers it: computed once per intent.
  const holdersOf = new Map<string, string[]>();
  const holders = (intent: string): string[] => {
    let roles = holdersOf.get(intent);
    if (roles === undefined) {
      roles = grants.filter(([, patterns]) => patterns.some((p) => patternCovers(p, intent))).map(([role]) => role).sort();
      holdersOf.set(intent, roles);
    }
    return roles;
  };

  for (const [role, patterns] of grants) {
    const principal = entityRef('Role', role);
    for (const pattern of new Set(patterns)) {
      const scope = actionScope(pattern);
      add(`grant:${role}:${pattern}`, `permit(principal in ${principal}, ${scope}, resource)\nunless { principal is Agent };`);
      add(`agent:${role}:${pattern}`, `permit(principal is Agent in ${principal}, ${scope}, resource)\nunless { context has actingFor };`);
      const byHolders = new Map<string, { roles: string[]; intents: string[] }>();
      for (const intent of catalog.intents.keys()) {
        if (!patternCovers(pattern, intent)) continue;
        const roles = holders(intent);
        const key = JSON.stringify(roles);
        const entry = byHolders.get(key) ?? { roles, intents: [] };
        entry.intents.push(intent);
        byHolders.set(key, entry);
      }
      for (const { roles, intents } of byHolders.values()) {
        const actions = intents.sort().map(actionRef).join(', ');
        add(
          `agent:${role}:${pattern}&person:${roles.join(',')}`,
          `permit(principal is Agent in ${principal}, action in [${actions}], resource)\n` +
            `when { context has actingFor && context.actingForRoles.containsAny([${roles.map(cedarString).join(', ')}]) };`,
        );
      }
    }
  }
  for (const tag of new Set(input.agentForbidTags)) {
    add(`agent-forbid:${tag}`, `forbid(principal is Agent, action in ${actionRef(tagGroup(tag))}, resource);`);
  }
  return out;
}

// Hand-written files, split into single policies, each with its id: its @id annotation, or
// <path>:<line> when it has none. Templates are refused: nothing links them.

export function describeError(e: DetailedError): string {
  return e.help ? `${e.message} (${e.help})` : e.message;
}

function lineAt(text: string, offset: number): number {
  let line = 1;
  for (let i = 0; i < offset; i++) if (text.charCodeAt(i) === 10) line++;
  return line;
}

export function parseFiles(files: readonly { path: string; text: string }[]): { policies: SourcedPolicy[]; problems: string[] } {
  const policies: SourcedPolicy[] = [];
  const problems: string[] = [];
  for (const file of files) {
    const parts = policySetTextToParts(file.text);
    if (parts.type === 'failure') {
      for (const e of parts.errors) {
        const at = e.sourceLocations?.[0];
        problems.push(`${file.path}${at ? `:${lineAt(file.text, at.start)}` : ''}: ${describeError(e)}`);
      }
      continue;
    }
    if (parts.policy_templates.length > 0) problems.push(`${file.path}: templates (policies with ?principal or ?resource) are not supported`);
    // The parts come back sorted by generated id, not in file order: find each one in the text.
    const used = new Set<number>();
    const located = parts.policies.map((text) => {
      let at = file.text.indexOf(text);
      while (at >= 0 && used.has(at)) at = file.text.indexOf(text, at + 1);
      if (at >= 0) used.add(at);
      return { text, line: at >= 0 ? lineAt(file.text, at) : 0 };
    });
    located.sort((a, b) => a.line - b.line);
    for (const { text, line } of located) {
      const json = policyJson(text);
      const annotated = json.type === 'success' ? json.json.annotations?.id : undefined;
      policies.push({ id: annotated ?? `${file.path}:${line}`, text, source: file.path, line });
    }
  }
  return { policies, problems };
}
