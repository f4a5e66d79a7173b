// A PostgreSQL store creates its tables on first use, not when it is opened: the database may be
// down at start, and the store must then work as soon as it is back.

/**
 * Returns `ensureSchema`: the first call runs `create`, and every call until it settles shares that
 * attempt. Success is kept (later calls resolve at once, without a query); a failure is forgotten,
 * so the next call tries again.
 */
export function schemaOnce(create: () => Promise<unknown>): () => Promise<void> {
  let schema: Promise<void> | undefined;
  return () => {
    schema ??= create().then(
      () => undefined,
      (err: unknown) => {
        schema = undefined;
        throw err;
      },
    );
    return schema;
  };
}
