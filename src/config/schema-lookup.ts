// What the schema expects at a path of the config, read from its JSON Schema (the input side,
// built once on first use). Used to suggest known keys and to type ${VAR} values.
import { z } from 'zod';
import { baseConfigSchema } from './schema.ts';
import type { PathSegment } from './problems.ts';

interface JsonSchemaNode {
  type?: string | string[];
  properties?: Record<string, JsonSchemaNode>;
  additionalProperties?: JsonSchemaNode | boolean;
  items?: JsonSchemaNode;
  anyOf?: JsonSchemaNode[];
  oneOf?: JsonSchemaNode[];
}

let inputSchema: JsonSchemaNode | undefined;

function nodesAt(at: readonly PathSegment[]): JsonSchemaNode[] {
  inputSchema ??= z.toJSONSchema(baseConfigSchema, { io: 'input' }) as JsonSchemaNode;
  let candidates: JsonSchemaNode[] = [inputSchema];
  for (const segment of at) {
    candidates = candidates.flatMap(variants).flatMap((node) => {
      if (typeof segment === 'number') return node.items ? [node.items] : [];
      const next = node.properties?.[segment] ?? node.additionalProperties;
      return typeof next === 'object' ? [next] : [];
    });
  }
  return candidates.flatMap(variants);
}

function variants(node: JsonSchemaNode): JsonSchemaNode[] {
  const options = node.anyOf ?? node.oneOf;
  return options ? options.flatMap(variants) : [node];
}

/** The keys an object at this path may have; empty when the path is not an object with fixed keys. */
export function knownKeysAt(at: readonly PathSegment[]): string[] {
  return nodesAt(at).flatMap((node) => Object.keys(node.properties ?? {}));
}

/** JSON Schema type names accepted at this path ("integer", "string", ...); empty when unknown. */
export function typesAt(at: readonly PathSegment[]): ReadonlySet<string> {
  return new Set(nodesAt(at).flatMap((node) => (node.type === undefined ? [] : [node.type].flat())));
}
