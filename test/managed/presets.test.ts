import { describe, expect, it } from 'vitest';
import { scopeArgs, tableDataInScope, tableInScope, targetScope } from '../../src/config/presets.js';
import { targetSchema } from '../../src/config/schema.js';

describe('target scopes', () => {
  it('the supabase preset skips platform schemas, keeps auth/storage rows, and only definitions of transient tables', () => {
    const scope = targetScope(targetSchema.parse({ url: 'postgresql://x/y', preset: 'supabase' }));
    expect(scopeArgs(scope)).toEqual(expect.arrayContaining(['--exclude-schema=realtime', '--exclude-schema=extensions', '--exclude-table-data=auth.sessions']));
    expect(tableDataInScope(scope, { schema: 'auth', table: 'users' })).toBe(true);
    expect(tableDataInScope(scope, { schema: 'storage', table: 'objects' })).toBe(true);
    expect(tableDataInScope(scope, { schema: 'realtime', table: 'messages' })).toBe(false);
    expect(tableDataInScope(scope, { schema: '_timescaledb_catalog', table: 'hypertable' })).toBe(false);
    expect(tableInScope(scope, { schema: 'auth', table: 'sessions' })).toBe(true);
    expect(tableDataInScope(scope, { schema: 'auth', table: 'sessions' })).toBe(false);
  });

  it('follows pg_dump: -t wins over -n, -T and wildcards apply', () => {
    const scope = targetScope({ include: { schemas: ['app'], tables: ['audit.events_*'] }, exclude: { tables: ['audit.events_old'] } });
    expect(tableInScope(scope, { schema: 'audit', table: 'events_2026' })).toBe(true);
    expect(tableInScope(scope, { schema: 'audit', table: 'events_old' })).toBe(false);
    expect(tableInScope(scope, { schema: 'app', table: 'users' })).toBe(false);
    expect(tableInScope(targetScope({ include: { schemas: ['app'] } }), { schema: 'app', table: 'users' })).toBe(true);
    expect(targetScope({ url: 'postgresql://x/y' })).toBeUndefined();
  });

  it('config rejects unqualified table patterns', () => {
    expect(targetSchema.safeParse({ exclude: { tables: ['users'] } }).success).toBe(false);
    expect(targetSchema.safeParse({ preset: 'heroku' }).success).toBe(false);
  });
});
