-- CreateIndex
CREATE INDEX "Task_status_candidateGroupRole_idx" ON "Task"("status", "candidateGroupRole");

-- CreateIndex
CREATE INDEX "Task_status_dueAt_id_idx" ON "Task"("status", "dueAt", "id");
