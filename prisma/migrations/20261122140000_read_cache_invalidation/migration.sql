-- Invalidation of the API's read cache (api/read-cache.ts). Every change to what GET
-- /api/tasks shows sends the keys it touches on channel ic_cache,
-- from triggers (so whoever writes is covered: the worker, an import, a test, a bench)
-- and only if the change commits:
--   u:<user>                 tasks assigned or delegated to that user
--   e:<entity>:<EntityRole>  tasks offered to a role in an entity
--   g:<group>:<GroupRole>    tasks offered to an HQ role in a group
--   G:<group>                names shown in the group's inboxes (an entity, a user's display name)
--   *                        everything (a user of no entity renamed)
-- Only tasks that are or were OPEN are in an inbox. PostgreSQL sends a key once per
-- transaction however often it is notified.
-- (Bodies are E'' strings with \x3B for their semicolons: Prisma's migration engine splits
-- a script at every semicolon, as in audit_append_only.)
CREATE FUNCTION ic_cache_notify_task(a uuid, d uuid, ce uuid, cr "EntityRole", g uuid, gr "GroupRole") RETURNS void LANGUAGE plpgsql AS E'
BEGIN
  IF a IS NOT NULL THEN PERFORM pg_notify(''ic_cache'', ''u:'' || a)\x3B END IF\x3B
  IF d IS NOT NULL THEN PERFORM pg_notify(''ic_cache'', ''u:'' || d)\x3B END IF\x3B
  IF ce IS NOT NULL AND cr IS NOT NULL THEN PERFORM pg_notify(''ic_cache'', ''e:'' || ce || '':'' || cr)\x3B END IF\x3B
  IF g IS NOT NULL AND gr IS NOT NULL THEN PERFORM pg_notify(''ic_cache'', ''g:'' || g || '':'' || gr)\x3B END IF\x3B
END
';

CREATE FUNCTION ic_cache_task_changed() RETURNS trigger LANGUAGE plpgsql AS E'
BEGIN
  IF TG_OP <> ''INSERT'' AND OLD.status = ''OPEN'' THEN
    PERFORM ic_cache_notify_task(OLD."assigneeId", OLD."delegatedToId", OLD."candidateEntityId", OLD."candidateRole", OLD."groupId", OLD."candidateGroupRole")\x3B
  END IF\x3B
  IF TG_OP <> ''DELETE'' AND NEW.status = ''OPEN'' THEN
    PERFORM ic_cache_notify_task(NEW."assigneeId", NEW."delegatedToId", NEW."candidateEntityId", NEW."candidateRole", NEW."groupId", NEW."candidateGroupRole")\x3B
  END IF\x3B
  RETURN NULL\x3B
END
';

CREATE TRIGGER ic_cache_task_changed AFTER INSERT OR UPDATE OR DELETE ON "Task"
  FOR EACH ROW EXECUTE FUNCTION ic_cache_task_changed();

-- A task's item shows its transfer: a changed transfer touches the keys of its open tasks.
CREATE FUNCTION ic_cache_transfer_changed() RETURNS trigger LANGUAGE plpgsql AS E'
BEGIN
  PERFORM ic_cache_notify_task(t."assigneeId", t."delegatedToId", t."candidateEntityId", t."candidateRole", t."groupId", t."candidateGroupRole")
    FROM "Task" t WHERE t."transferId" = NEW.id AND t.status = ''OPEN''\x3B
  RETURN NULL\x3B
END
';

CREATE TRIGGER ic_cache_transfer_changed AFTER UPDATE ON "Transfer"
  FOR EACH ROW EXECUTE FUNCTION ic_cache_transfer_changed();

CREATE FUNCTION ic_cache_user_changed() RETURNS trigger LANGUAGE plpgsql AS E'
BEGIN
  IF TG_OP = ''DELETE'' OR NEW."displayName" IS DISTINCT FROM OLD."displayName" THEN
    IF EXISTS (SELECT 1 FROM "Membership" m WHERE m."userId" = OLD.id) THEN
      PERFORM pg_notify(''ic_cache'', ''G:'' || e."groupId") FROM "Membership" m JOIN "Entity" e ON e.id = m."entityId" WHERE m."userId" = OLD.id\x3B
    ELSE
      PERFORM pg_notify(''ic_cache'', ''*'')\x3B
    END IF\x3B
  END IF\x3B
  RETURN NULL\x3B
END
';

CREATE TRIGGER ic_cache_user_changed AFTER UPDATE OR DELETE ON "User"
  FOR EACH ROW EXECUTE FUNCTION ic_cache_user_changed();

-- An entity's name and code are shown in its group's inboxes.
CREATE FUNCTION ic_cache_entity_changed() RETURNS trigger LANGUAGE plpgsql AS E'
BEGIN
  PERFORM pg_notify(''ic_cache'', ''G:'' || OLD."groupId")\x3B
  IF TG_OP = ''UPDATE'' THEN PERFORM pg_notify(''ic_cache'', ''G:'' || NEW."groupId")\x3B END IF\x3B
  RETURN NULL\x3B
END
';

CREATE TRIGGER ic_cache_entity_changed AFTER UPDATE OR DELETE ON "Entity"
  FOR EACH ROW EXECUTE FUNCTION ic_cache_entity_changed();
