-- DropIndex
DROP INDEX "Task_status_assigneeId_idx";

-- DropIndex
DROP INDEX "Task_status_candidateEntityId_candidateRole_idx";

-- DropIndex
DROP INDEX "Task_status_delegatedToId_idx";

-- DropIndex
DROP INDEX "Task_status_candidateGroupRole_idx";

-- DropIndex
DROP INDEX "Task_status_dueAt_id_idx";

-- AlterTable
ALTER TABLE "Task" ADD COLUMN     "groupId" UUID,
ADD COLUMN     "transferCreatedById" UUID;

-- Copy the transfer's creator and its sender's group onto every task, now and on every
-- insert (whoever inserts: the worker's persist, an import, a test or a benchmark).
UPDATE "Task" t SET "transferCreatedById" = tr."createdById", "groupId" = e."groupId"
  FROM "Transfer" tr JOIN "Entity" e ON e.id = tr."senderEntityId"
  WHERE tr.id = t."transferId";

-- (The body is an E'' string with \x3B for its semicolons: Prisma's migration engine splits
-- a script at every semicolon, even inside dollar quotes and comments, as in audit_append_only.)
CREATE FUNCTION task_copy_transfer_fields() RETURNS trigger LANGUAGE plpgsql AS E'
BEGIN
  SELECT tr."createdById", e."groupId" INTO NEW."transferCreatedById", NEW."groupId"
    FROM "Transfer" tr JOIN "Entity" e ON e.id = tr."senderEntityId"
    WHERE tr.id = NEW."transferId"\x3B
  RETURN NEW\x3B
END
';

CREATE TRIGGER task_copy_transfer_fields BEFORE INSERT OR UPDATE OF "transferId" ON "Task"
  FOR EACH ROW EXECUTE FUNCTION task_copy_transfer_fields();

-- CreateIndex
CREATE INDEX "Task_status_assigneeId_dueAt_id_transferCreatedById_idx" ON "Task"("status", "assigneeId", "dueAt", "id", "transferCreatedById");

-- CreateIndex
CREATE INDEX "Task_status_delegatedToId_dueAt_id_transferCreatedById_idx" ON "Task"("status", "delegatedToId", "dueAt", "id", "transferCreatedById");

-- CreateIndex
CREATE INDEX "Task_status_candidateEntityId_candidateRole_dueAt_id_assign_idx" ON "Task"("status", "candidateEntityId", "candidateRole", "dueAt", "id", "assigneeId", "transferCreatedById");

-- CreateIndex
CREATE INDEX "Task_status_candidateGroupRole_groupId_dueAt_id_assigneeId__idx" ON "Task"("status", "candidateGroupRole", "groupId", "dueAt", "id", "assigneeId", "candidateEntityId", "transferCreatedById");
