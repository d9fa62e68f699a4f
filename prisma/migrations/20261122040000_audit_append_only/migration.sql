-- The audit trail is append-only (issue 5, point 4). Hand-written: nothing in the Prisma
-- model changes, so schema.snapshot.prisma is untouched.
--
-- 1. A trigger refuses UPDATE, DELETE and TRUNCATE on "AuditEvent" for everyone, the
--    table owner and superusers included (only an owner who first runs ALTER TABLE ...
--    DISABLE TRIGGER, itself a DDL change, can get past it).
-- 2. ic_confirm_app is the application's runtime role (NOLOGIN: the API and the worker
--    connect as a login role that is a member of it, see scripts/lib/app-role.ts). It may
--    read and write every table of the schema but only SELECT and INSERT audit rows, and
--    it has no rights on Prisma's _prisma_migrations. Migrations run as the owner of the
--    schema, never as this role.
--
-- NOTE: no semicolon may appear anywhere in this file except at the end of a statement,
-- not even in a comment or inside a string. The offline migration tool (Prisma 6.19's JS
-- schema engine through @prisma/adapter-pg, see prisma/migrate.config.ts) splits the
-- script on every semicolon before sending it. PL/pgSQL bodies are therefore written as
-- E'' string constants with \x3B where their semicolons go. With a whole-script runner
-- (psql, native `prisma migrate deploy`) the file means exactly the same.

-- ---- trigger -------------------------------------------------------------------------

CREATE OR REPLACE FUNCTION "audit_event_append_only"() RETURNS trigger
LANGUAGE plpgsql AS E'
BEGIN
  RAISE EXCEPTION ''AuditEvent is append-only: % is not allowed'', TG_OP
    USING ERRCODE = ''42501'',
          HINT = ''audit rows are never changed or removed: record a new event instead''\x3B
END
';

DROP TRIGGER IF EXISTS "AuditEvent_append_only" ON "AuditEvent";
CREATE TRIGGER "AuditEvent_append_only"
  BEFORE UPDATE OR DELETE ON "AuditEvent"
  FOR EACH ROW EXECUTE FUNCTION "audit_event_append_only"();

DROP TRIGGER IF EXISTS "AuditEvent_no_truncate" ON "AuditEvent";
CREATE TRIGGER "AuditEvent_no_truncate"
  BEFORE TRUNCATE ON "AuditEvent"
  FOR EACH STATEMENT EXECUTE FUNCTION "audit_event_append_only"();

-- ---- the application's role ------------------------------------------------------------

-- Roles are cluster-wide: another database of the cluster (or a concurrent migration)
-- may have created it already.
DO E'
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = ''ic_confirm_app'') THEN
    BEGIN
      CREATE ROLE ic_confirm_app NOLOGIN\x3B
    EXCEPTION
      WHEN duplicate_object OR unique_violation THEN NULL\x3B
      WHEN insufficient_privilege THEN
        RAISE EXCEPTION ''cannot create role ic_confirm_app: % lacks CREATEROLE'', current_user
          USING ERRCODE = ''42501'',
                HINT = ''have a DBA run "CREATE ROLE ic_confirm_app NOLOGIN" once, then apply the migrations again''\x3B
    END\x3B
  END IF\x3B
END
';

GRANT USAGE ON SCHEMA public TO ic_confirm_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO ic_confirm_app;
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO ic_confirm_app;

-- Tables and sequences that later migrations create (as the role running them, which is
-- the role running this one).
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO ic_confirm_app;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO ic_confirm_app;

-- Append-only for the application: SELECT and INSERT only.
REVOKE UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON "AuditEvent" FROM ic_confirm_app;
REVOKE ALL ON "AuditEvent" FROM PUBLIC;

-- The migration history is the migrator's business. The table exists when Prisma applies
-- this file, the check is for anyone applying it by hand.
DO E'
BEGIN
  IF to_regclass(''"_prisma_migrations"'') IS NOT NULL THEN
    REVOKE ALL ON "_prisma_migrations" FROM ic_confirm_app\x3B
  END IF\x3B
END
';
