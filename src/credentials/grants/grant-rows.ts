// What both grant stores share: the WHERE clause of a list filter.

export interface GrantFilter {
  issuer?: string;
  subject?: string;
  agent?: string;
}

/** `WHERE issuer = ? AND ...` for the fields given (none: every grant); placeholder(i) names the i-th value (1-based). */
export function grantFilterSql(filter: GrantFilter, placeholder: (i: number) => string): { where: string; values: string[] } {
  const clauses: string[] = [];
  const values: string[] = [];
  for (const column of ['issuer', 'subject', 'agent'] as const) {
    const value = filter[column];
    if (value === undefined) continue;
    values.push(value);
    clauses.push(`${column} = ${placeholder(values.length)}`);
  }
  return { where: clauses.length === 0 ? '' : `WHERE ${clauses.join(' AND ')}`, values };
}
