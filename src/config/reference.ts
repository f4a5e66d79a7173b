// The generated files that derive from the schema: schema/cortex.schema.json for editors and
// docs/config-reference.md for people. Pure: same schema in, byte-identical text out.
import { z } from 'zod';
import { configFileSchema, STAGES } from './schema.ts';

export const SCHEMA_FILE = 'schema/cortex.schema.json';
export const REFERENCE_FILE = 'docs/config-reference.md';
const SCHEMA_ID = 'urn:cortex-gateway:config:1';

interface Node {
  type?: string | string[];
  description?: string;
  default?: unknown;
  const?: unknown;
  enum?: unknown[];
  format?: string;
  minimum?: number;
  maximum?: number;
  minLength?: number;
  minItems?: number;
  properties?: Record<string, Node>;
  required?: string[];
  additionalProperties?: Node | boolean;
  propertyNames?: Node;
  items?: Node;
  anyOf?: Node[];
  oneOf?: Node[];
}

export function configJsonSchema(): Record<string, unknown> {
  const { $schema, ...generated } = z.toJSONSchema(configFileSchema, { io: 'input' });
  return {
    $schema,
    $id: SCHEMA_ID,
    title: 'Cortex configuration',
    description: 'The cortex.yaml file of the Cortex API gateway. Generated from src/config/schema.ts.',
    ...generated,
  };
}

export function renderSchemaFiles(): { json: string; markdown: string } {
  const schema = configJsonSchema();
  return { json: `${JSON.stringify(schema, null, 2)}\n`, markdown: renderReference(schema) };
}

// Names shown for the keys of maps, e.g. routes.<id>.
const MAP_KEY_NAMES: Record<string, string> = { routes: 'id', upstreams: 'name', stages: 'stage', set: 'header' };

function renderReference(root: Node): string {
  const out = [
    '# Configuration reference',
    '',
    '<!-- Generated from src/config/schema.ts by `npm run schema`. Do not edit by hand. -->',
    '',
    'Cortex reads one YAML file. Editors can check it against `schema/cortex.schema.json`',
    '(point the `$schema` key or the editor\'s YAML settings at it); `cortex check --config FILE`',
    'reports every problem with its path and line.',
    '',
    '- **Environment variables.** String values may contain `${VAR}` or `${VAR:-default}`; an unset',
    '  variable without a default is an error. `$${X}` is a literal `${X}`. A value that is exactly one',
    '  `${...}` becomes a number or boolean where the schema expects one (`port: ${PORT}`).',
    `- **Stages** (${STAGES.map((s) => `\`${s}\``).join(', ')}). The stage is \`--stage\`, else \`CORTEX_STAGE\`,`,
    '  else the `stage` key, else `dev`. `stages.<stage>` is deep-merged over the rest of the file:',
    '  objects merge key by key, lists and scalars replace, and `null` removes a key.',
    '',
    '## Top level',
    '',
    ...table(root),
  ];
  for (const [key, node] of Object.entries(root.properties ?? {})) {
    out.push(...section(key, node, 2, root.required?.includes(key)));
  }
  return `${out.join('\n').replace(/\n{3,}/g, '\n\n').trimEnd()}\n`;
}

/**
 * A heading and table for an object; for a map, list or union, the sections of what it holds.
 * Top-level keys always get a heading, so that each has its own section.
 */
function section(name: string, node: Node, level: number, required = false): string[] {
  const out: string[] = [];
  if (node.properties || level === 2) {
    out.push('', `${'#'.repeat(level)} \`${name}\``, '');
    if (node.description !== undefined) out.push(node.description, '');
  }
  if (node.properties) {
    out.push(...table(node));
    for (const [key, child] of Object.entries(node.properties)) {
      if (hasSection(child)) out.push(...section(`${name}.${key}`, child, 3));
    }
    return out;
  }
  if (level === 2) out.push(`- type: ${typeText(node, name)}`, `- default: ${defaultText(node, required)}`, '');
  const mapKey = MAP_KEY_NAMES[name.split('.').at(-1) ?? ''] ?? 'key';
  if (isObject(node.additionalProperties) && hasSection(node.additionalProperties)) {
    out.push(...section(`${name}.<${mapKey}>`, node.additionalProperties, 3));
  }
  if (node.items && hasSection(node.items)) out.push(...section(`${name}[]`, node.items, 3));
  for (const variant of variantsOf(node)) {
    if (variant.properties) out.push(...section(`${name} (${variantLabel(variant)})`, variant, 3));
  }
  return out;
}

function table(node: Node): string[] {
  const rows = Object.entries(node.properties ?? {}).map(([key, child]) => {
    const required = node.required?.includes(key) ?? false;
    return `| \`${key}\` | ${cell(typeText(child, key))} | ${cell(defaultText(child, required))} | ${cell(child.description ?? '')} |`;
  });
  return ['| key | type | default | description |', '| --- | --- | --- | --- |', ...rows, ''];
}

function hasSection(node: Node): boolean {
  if (node.properties) return true;
  if (isObject(node.additionalProperties) && hasSection(node.additionalProperties)) return true;
  if (node.items && hasSection(node.items)) return true;
  return variantsOf(node).some((variant) => variant.properties !== undefined);
}

function variantsOf(node: Node): Node[] {
  return node.anyOf ?? node.oneOf ?? [];
}

function variantLabel(variant: Node): string {
  const tag = Object.entries(variant.properties ?? {}).find(([, child]) => child.const !== undefined);
  return tag ? `${tag[0]}: ${String(tag[1].const)}` : 'variant';
}

function typeText(node: Node, key: string): string {
  if (node.const !== undefined) return `\`${JSON.stringify(node.const)}\``;
  if (node.enum) return `one of ${node.enum.map((value) => `\`${String(value)}\``).join(', ')}`;
  const variants = variantsOf(node);
  if (variants.length > 0) return variants.map((variant) => typeText(variant, key)).join(' or ');
  const type = [node.type ?? 'any'].flat().join(' or ');
  if (type === 'integer') return `integer${range(node)}`;
  if (type === 'string') {
    if (node.format === 'uri') return 'URL';
    return node.minLength !== undefined && node.minLength > 1 ? `string (at least ${node.minLength} characters)` : 'string';
  }
  if (type === 'array') {
    const least = node.minItems ? ` (at least ${node.minItems})` : '';
    const items = node.items?.enum ? node.items.enum.map((value) => `\`${String(value)}\``).join(', ') : plural(node.items ? typeText(node.items, key) : 'value');
    return `list${least} of ${items}`;
  }
  const values = node.additionalProperties;
  // A record of anything (a stage override) is just an object to the reader.
  if (type === 'object' && !node.properties && isObject(values) && Object.keys(values).length > 0) {
    const keys = node.propertyNames?.enum ? node.propertyNames.enum.join(' / ') : (MAP_KEY_NAMES[key] ?? 'key');
    return `map of ${keys} to ${typeText(values, key)}`;
  }
  return type;
}

function range(node: Node): string {
  if (node.minimum !== undefined && node.maximum !== undefined) return ` ${node.minimum} to ${node.maximum}`;
  if (node.minimum !== undefined) return ` ≥ ${node.minimum}`;
  return node.maximum !== undefined ? ` ≤ ${node.maximum}` : '';
}

function plural(type: string): string {
  return /^(string|integer|object|boolean|number|URL|value)$/.test(type) ? `${type}s` : type;
}

function defaultText(node: Node, required: boolean): string {
  if (node.default === undefined) return required ? '**required**' : 'none';
  const json = JSON.stringify(node.default);
  return json.length <= 60 ? `\`${json}\`` : 'from its fields';
}

function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\s*\n\s*/g, ' ');
}

function isObject(value: unknown): value is Node {
  return typeof value === 'object' && value !== null;
}
