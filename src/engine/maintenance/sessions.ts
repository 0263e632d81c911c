/**
 * SQL condition on pg_stat_activity (alias `a`) for the other client sessions: ours excluded,
 * background workers (autovacuum, ...) excluded. A non-superuser sees backend_type as NULL on
 * other roles' rows, so a row with a user name and a hidden type counts as a client too.
 */
export const OTHER_CLIENT_SESSION = `a.pid <> pg_backend_pid()
  AND (a.backend_type = 'client backend' OR (a.backend_type IS NULL AND a.usename IS NOT NULL))`;
