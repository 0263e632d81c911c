import { describe, expect, it } from 'vitest';
import { foreignKeyOrder, keepsPlatformEntry, platformOrder, type PlatformPlan } from '../../src/engine/restore/platform.js';
import { parseToc } from '../../src/engine/restore/toc.js';

// As pg_restore --list prints it (PostgreSQL 15), trimmed.
const LIST = `;
; Archive created at 2026-11-25 01:47:10 UTC
;
3523; 0 0 ENCODING - ENCODING 
6; 2615 16385 SCHEMA - auth supabase_admin
3530; 0 0 ACL - SCHEMA auth supabase_admin
2; 3079 16400 EXTENSION - citext 
3531; 0 0 COMMENT - EXTENSION citext 
297; 1255 16609 FUNCTION public handle_new_user() app
3542; 0 0 ACL public FUNCTION handle_new_user() app
215; 1259 16498 TABLE auth users supabase_admin
229; 1259 16572 TABLE public profiles app
3514; 0 16510 TABLE DATA auth identities supabase_admin
3515; 0 16534 TABLE DATA auth schema_migrations supabase_admin
3512; 0 16498 TABLE DATA auth users supabase_admin
3518; 0 16572 TABLE DATA public profiles app
3544; 0 0 SEQUENCE SET auth identities_id_seq supabase_admin
3364; 2606 16579 FK CONSTRAINT public profiles profiles_id_fkey app
3366; 2620 16610 TRIGGER auth users on_auth_user_created supabase_admin
3367; 0 0 DEFAULT ACL public DEFAULT PRIVILEGES FOR TABLES supabase_admin
`;

describe('pg_restore --list', () => {
  it('parses entry types with spaces, the schema, names with spaces and an empty owner', () => {
    const toc = parseToc(LIST);
    expect(toc).toHaveLength(17);
    expect(toc.find((e) => e.id === 3514)).toMatchObject({ desc: 'TABLE DATA', namespace: 'auth', tag: 'identities', owner: 'supabase_admin' });
    expect(toc.find((e) => e.id === 3531)).toMatchObject({ desc: 'COMMENT', namespace: null, tag: 'EXTENSION citext', owner: '' });
    expect(toc.find((e) => e.id === 3366)).toMatchObject({ desc: 'TRIGGER', namespace: 'auth', tag: 'users on_auth_user_created' });
    expect(toc.find((e) => e.id === 3367)).toMatchObject({ desc: 'DEFAULT ACL', namespace: 'public', tag: 'DEFAULT PRIVILEGES FOR TABLES', owner: 'supabase_admin' });
    expect(toc.find((e) => e.id === 3542)).toMatchObject({ desc: 'ACL', tag: 'FUNCTION handle_new_user()', owner: 'app' });
  });

  it('a platform restore keeps the application entries, loads platform rows after them parents first, and leaves platform DDL out', () => {
    const toc = parseToc(LIST);
    const plan: PlatformPlan = {
      schemas: ['auth'],
      load: [{ schema: 'auth', table: 'users' }, { schema: 'auth', table: 'identities' }],
      clear: [],
      keptAsIs: ['auth.schema_migrations'],
      sequences: ['auth.identities_id_seq'],
      created: ['TRIGGER auth.users on_auth_user_created'],
      keptFunctions: [],
      silenced: [],
      notes: [],
      problems: [],
    };
    const kept = platformOrder(toc, plan).filter((e) => keepsPlatformEntry(plan, e)).map((e) => e.id);
    expect(kept).toEqual([3523, 2, 3531, 297, 3542, 229, 3518, 3544, 3512, 3514, 3364, 3366, 3367]);
    const keeping = { ...plan, keptFunctions: ['public.handle_new_user()'] };
    expect(toc.filter((e) => keepsPlatformEntry(keeping, e)).map((e) => e.id)).not.toContain(297);
    expect(toc.filter((e) => keepsPlatformEntry(keeping, e)).map((e) => e.id)).not.toContain(3542);
  });

  it('orders tables parents first and finds a cycle', () => {
    const t = (table: string) => ({ schema: 'auth', table });
    const edges = [{ child: 'auth.identities', parent: 'auth.users' }, { child: 'auth.mfa_challenges', parent: 'auth.mfa_factors' }, { child: 'auth.mfa_factors', parent: 'auth.users' }];
    expect(foreignKeyOrder([t('identities'), t('mfa_challenges'), t('mfa_factors'), t('users')], edges)?.map((x) => x.table)).toEqual(['users', 'identities', 'mfa_factors', 'mfa_challenges']);
    expect(foreignKeyOrder([t('a'), t('b')], [{ child: 'auth.a', parent: 'auth.b' }, { child: 'auth.b', parent: 'auth.a' }])).toBeUndefined();
  });
});
