-- The audit log's reads on a large log: 1,000,000 entries over two years (about 1,400 changes
-- a day, far more than an agency makes), 200 partners, then each query GET /api/audit runs
-- for its filters (the first page: 51 rows newest first), with EXPLAIN ANALYZE.
-- Run on a scratch database migrated to 0011 (docs/audit.md says how).
\timing off
TRUNCATE audit_entry RESTART IDENTITY;
INSERT INTO audit_entry (created_at, actor_kind, actor_label, client_ip, user_agent, action,
                         target_kind, target_id, target_name, tenant_id, before, after)
SELECT now() - interval '730 days' + n * interval '63 seconds',
       (ARRAY['admin_token', 'cli', 'user'])[1 + n % 3],
       (ARRAY['admin token', 'ops', 'mei@example.com'])[1 + n % 3],
       '203.0.113.' || (n % 250), 'Mozilla/5.0',
       a.action, split_part(a.action, '.', 1), (n % 5000)::text, 'Partner ' || (n % 200),
       1 + n % 200, '{"retention_days": 7}', '{"retention_days": 30}'
FROM generate_series(1, 1000000) AS n
CROSS JOIN LATERAL (
  SELECT CASE WHEN n % 1000 = 0 THEN 'rejection.replay_bulk'
              WHEN n % 100 = 0 THEN 'tenant.rotate_secret'
              WHEN n % 3 = 0 THEN 'forward.update'
              ELSE 'tenant.update' END AS action
) AS a;
ANALYZE audit_entry;
\timing on
\echo '-- no filter'
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) SELECT * FROM audit_entry ORDER BY id DESC LIMIT 51;
\echo '-- one partner'
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF)
SELECT * FROM audit_entry WHERE tenant_id = 17 ORDER BY id DESC LIMIT 51;
\echo '-- an action prefix matching 1 in 1,000 (rejection.replay_bulk)'
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF)
SELECT * FROM audit_entry WHERE action LIKE 'rejection.%' ESCAPE '\' ORDER BY id DESC LIMIT 51;
\echo '-- one partner and a rare action'
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF)
SELECT * FROM audit_entry WHERE tenant_id = 17 AND action LIKE 'tenant.rotate%' ESCAPE '\'
ORDER BY id DESC LIMIT 51;
\echo '-- one object (target forward:1200)'
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF)
SELECT * FROM audit_entry WHERE target_kind = 'forward' AND target_id = '1200'
ORDER BY id DESC LIMIT 51;
\echo '-- one actor in a week a year ago'
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF)
SELECT * FROM audit_entry WHERE actor_label = 'ops'
  AND created_at >= now() - interval '365 days' AND created_at < now() - interval '358 days'
ORDER BY id DESC LIMIT 51;
\echo '-- a page deep in the log (before_id)'
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF)
SELECT * FROM audit_entry WHERE id < 123456 ORDER BY id DESC LIMIT 51;
\echo '-- retention: one batch of 5,000 older than 730 days'
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF)
DELETE FROM audit_entry WHERE id IN (
  SELECT id FROM audit_entry WHERE created_at < now() - interval '700 days'
  ORDER BY created_at LIMIT 5000);
