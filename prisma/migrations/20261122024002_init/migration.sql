-- CreateSchema
CREATE SCHEMA IF NOT EXISTS "public";

-- CreateEnum
CREATE TYPE "EntityKind" AS ENUM ('HQ', 'SUBSIDIARY');

-- CreateEnum
CREATE TYPE "EntityRole" AS ENUM ('ACCOUNTANT', 'SUPERVISOR');

-- CreateEnum
CREATE TYPE "GroupRole" AS ENUM ('HQ_FINANCE', 'ADMIN');

-- CreateEnum
CREATE TYPE "TransferType" AS ENUM ('GOODS', 'SERVICE', 'LOAN', 'COST_ALLOCATION');

-- CreateEnum
CREATE TYPE "TransferStatus" AS ENUM ('PENDING', 'CONFIRMED', 'DISPUTED', 'REJECTED', 'WITHDRAWN', 'RESOLVED');

-- CreateEnum
CREATE TYPE "RoutingMode" AS ENUM ('SINGLE', 'COUNTERSIGN', 'EITHER_SIGN', 'SEQUENTIAL');

-- CreateEnum
CREATE TYPE "TaskKind" AS ENUM ('CONFIRM', 'APPROVE', 'ARBITRATE');

-- CreateEnum
CREATE TYPE "TaskStatus" AS ENUM ('OPEN', 'DONE', 'WITHDRAWN', 'EXPIRED');

-- CreateEnum
CREATE TYPE "PeriodStatus" AS ENUM ('OPEN', 'FROZEN');

-- CreateTable
CREATE TABLE "Group" (
    "id" UUID NOT NULL,
    "code" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "currency" CHAR(3) NOT NULL DEFAULT 'CNY',
    "timezone" TEXT NOT NULL DEFAULT 'Asia/Shanghai',
    "confirmWithin" TEXT NOT NULL DEFAULT 'PT48H',
    "remindBefore" TEXT NOT NULL DEFAULT 'PT24H',
    "escalationWithin" TEXT NOT NULL DEFAULT 'PT24H',
    "quantityTolerance" DECIMAL(20,6) NOT NULL DEFAULT 0,
    "amountTolerance" DECIMAL(20,2) NOT NULL DEFAULT 0.01,
    "priceTolerancePct" DECIMAL(9,4) NOT NULL DEFAULT 0,
    "dateWindowDays" INTEGER NOT NULL DEFAULT 3,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "Group_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Entity" (
    "id" UUID NOT NULL,
    "groupId" UUID NOT NULL,
    "code" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "kind" "EntityKind" NOT NULL DEFAULT 'SUBSIDIARY',
    "functionalCurrency" CHAR(3) NOT NULL DEFAULT 'CNY',
    "confirmWithin" TEXT,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "Entity_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "User" (
    "id" UUID NOT NULL,
    "username" TEXT NOT NULL,
    "displayName" TEXT NOT NULL,
    "passwordHash" TEXT NOT NULL,
    "groupRole" "GroupRole",
    "mobile" TEXT,
    "email" TEXT,
    "active" BOOLEAN NOT NULL DEFAULT true,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "User_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Membership" (
    "userId" UUID NOT NULL,
    "entityId" UUID NOT NULL,
    "role" "EntityRole" NOT NULL,

    CONSTRAINT "Membership_pkey" PRIMARY KEY ("userId","entityId","role")
);

-- CreateTable
CREATE TABLE "OutOfOffice" (
    "id" UUID NOT NULL,
    "userId" UUID NOT NULL,
    "delegateId" UUID NOT NULL,
    "from" TIMESTAMPTZ(3) NOT NULL,
    "until" TIMESTAMPTZ(3) NOT NULL,
    "reason" TEXT,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "OutOfOffice_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "ApprovalPolicy" (
    "id" UUID NOT NULL,
    "entityId" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "transferType" "TransferType",
    "minAmount" DECIMAL(20,2),
    "maxAmount" DECIMAL(20,2),
    "mode" "RoutingMode" NOT NULL,
    "levels" JSONB NOT NULL,
    "priority" INTEGER NOT NULL DEFAULT 0,
    "active" BOOLEAN NOT NULL DEFAULT true,
    "updatedAt" TIMESTAMPTZ(3) NOT NULL,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "ApprovalPolicy_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Transfer" (
    "id" UUID NOT NULL,
    "workflowId" TEXT NOT NULL,
    "senderEntityId" UUID NOT NULL,
    "receiverEntityId" UUID NOT NULL,
    "type" "TransferType" NOT NULL,
    "externalRef" TEXT NOT NULL,
    "quantity" DECIMAL(20,6),
    "unit" TEXT,
    "unitPrice" DECIMAL(20,6),
    "amount" DECIMAL(20,2) NOT NULL,
    "currency" CHAR(3) NOT NULL,
    "documentDate" DATE NOT NULL,
    "period" TEXT NOT NULL,
    "memo" TEXT,
    "status" "TransferStatus" NOT NULL DEFAULT 'PENDING',
    "createdById" UUID NOT NULL,
    "dueAt" TIMESTAMPTZ(3) NOT NULL,
    "level" INTEGER NOT NULL DEFAULT 0,
    "escalationLevel" INTEGER NOT NULL DEFAULT 0,
    "policy" JSONB,
    "receiptRef" TEXT,
    "receiptQuantity" DECIMAL(20,6),
    "receiptUnitPrice" DECIMAL(20,6),
    "receiptAmount" DECIMAL(20,2),
    "receiptDate" DATE,
    "differences" JSONB,
    "disputeReason" TEXT,
    "disputeText" TEXT,
    "disputeProposal" JSONB,
    "rejectReason" TEXT,
    "closedAt" TIMESTAMPTZ(3),
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "Transfer_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Task" (
    "id" UUID NOT NULL,
    "key" TEXT NOT NULL,
    "transferId" UUID NOT NULL,
    "kind" "TaskKind" NOT NULL,
    "status" "TaskStatus" NOT NULL DEFAULT 'OPEN',
    "level" INTEGER NOT NULL DEFAULT 0,
    "escalationLevel" INTEGER NOT NULL DEFAULT 0,
    "assigneeId" UUID,
    "candidateEntityId" UUID,
    "candidateRole" "EntityRole",
    "candidateGroupRole" "GroupRole",
    "delegatedToId" UUID,
    "onBehalfOfId" UUID,
    "dueAt" TIMESTAMPTZ(3) NOT NULL,
    "outcome" TEXT,
    "actedById" UUID,
    "actedAt" TIMESTAMPTZ(3),
    "comment" TEXT,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "Task_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "AuditEvent" (
    "id" BIGSERIAL NOT NULL,
    "key" TEXT,
    "at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "actorId" UUID,
    "actorName" TEXT,
    "actorIp" TEXT,
    "action" TEXT NOT NULL,
    "objectType" TEXT NOT NULL,
    "objectId" TEXT NOT NULL,
    "transferId" UUID,
    "entityIds" TEXT[],
    "before" JSONB,
    "after" JSONB,
    "reason" TEXT,
    "requestId" TEXT,
    "workflowId" TEXT,

    CONSTRAINT "AuditEvent_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "NotificationEvent" (
    "id" UUID NOT NULL,
    "key" TEXT NOT NULL,
    "kind" TEXT NOT NULL,
    "transferId" UUID,
    "entityId" UUID,
    "recipients" TEXT[],
    "payload" JSONB NOT NULL,
    "status" TEXT NOT NULL DEFAULT 'PENDING',
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "NotificationEvent_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Period" (
    "period" TEXT NOT NULL,
    "status" "PeriodStatus" NOT NULL DEFAULT 'OPEN',
    "changedAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "changedBy" UUID,
    "reason" TEXT,

    CONSTRAINT "Period_pkey" PRIMARY KEY ("period")
);

-- CreateIndex
CREATE UNIQUE INDEX "Group_code_key" ON "Group"("code");

-- CreateIndex
CREATE UNIQUE INDEX "Entity_code_key" ON "Entity"("code");

-- CreateIndex
CREATE UNIQUE INDEX "User_username_key" ON "User"("username");

-- CreateIndex
CREATE INDEX "Membership_entityId_role_idx" ON "Membership"("entityId", "role");

-- CreateIndex
CREATE INDEX "OutOfOffice_userId_from_until_idx" ON "OutOfOffice"("userId", "from", "until");

-- CreateIndex
CREATE INDEX "ApprovalPolicy_entityId_active_idx" ON "ApprovalPolicy"("entityId", "active");

-- CreateIndex
CREATE UNIQUE INDEX "Transfer_workflowId_key" ON "Transfer"("workflowId");

-- CreateIndex
CREATE INDEX "Transfer_receiverEntityId_status_idx" ON "Transfer"("receiverEntityId", "status");

-- CreateIndex
CREATE INDEX "Transfer_senderEntityId_status_idx" ON "Transfer"("senderEntityId", "status");

-- CreateIndex
CREATE INDEX "Transfer_period_idx" ON "Transfer"("period");

-- CreateIndex
CREATE INDEX "Transfer_status_dueAt_idx" ON "Transfer"("status", "dueAt");

-- CreateIndex
CREATE UNIQUE INDEX "Transfer_senderEntityId_externalRef_key" ON "Transfer"("senderEntityId", "externalRef");

-- CreateIndex
CREATE UNIQUE INDEX "Task_key_key" ON "Task"("key");

-- CreateIndex
CREATE INDEX "Task_status_assigneeId_idx" ON "Task"("status", "assigneeId");

-- CreateIndex
CREATE INDEX "Task_status_candidateEntityId_candidateRole_idx" ON "Task"("status", "candidateEntityId", "candidateRole");

-- CreateIndex
CREATE INDEX "Task_status_delegatedToId_idx" ON "Task"("status", "delegatedToId");

-- CreateIndex
CREATE INDEX "Task_transferId_idx" ON "Task"("transferId");

-- CreateIndex
CREATE UNIQUE INDEX "AuditEvent_key_key" ON "AuditEvent"("key");

-- CreateIndex
CREATE INDEX "AuditEvent_transferId_at_idx" ON "AuditEvent"("transferId", "at");

-- CreateIndex
CREATE INDEX "AuditEvent_objectType_objectId_idx" ON "AuditEvent"("objectType", "objectId");

-- CreateIndex
CREATE INDEX "AuditEvent_actorId_at_idx" ON "AuditEvent"("actorId", "at");

-- CreateIndex
CREATE INDEX "AuditEvent_action_at_idx" ON "AuditEvent"("action", "at");

-- CreateIndex
CREATE UNIQUE INDEX "NotificationEvent_key_key" ON "NotificationEvent"("key");

-- CreateIndex
CREATE INDEX "NotificationEvent_entityId_createdAt_idx" ON "NotificationEvent"("entityId", "createdAt");

-- CreateIndex
CREATE INDEX "NotificationEvent_transferId_idx" ON "NotificationEvent"("transferId");

-- AddForeignKey
ALTER TABLE "Entity" ADD CONSTRAINT "Entity_groupId_fkey" FOREIGN KEY ("groupId") REFERENCES "Group"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Membership" ADD CONSTRAINT "Membership_userId_fkey" FOREIGN KEY ("userId") REFERENCES "User"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Membership" ADD CONSTRAINT "Membership_entityId_fkey" FOREIGN KEY ("entityId") REFERENCES "Entity"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "OutOfOffice" ADD CONSTRAINT "OutOfOffice_userId_fkey" FOREIGN KEY ("userId") REFERENCES "User"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "OutOfOffice" ADD CONSTRAINT "OutOfOffice_delegateId_fkey" FOREIGN KEY ("delegateId") REFERENCES "User"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "ApprovalPolicy" ADD CONSTRAINT "ApprovalPolicy_entityId_fkey" FOREIGN KEY ("entityId") REFERENCES "Entity"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Transfer" ADD CONSTRAINT "Transfer_senderEntityId_fkey" FOREIGN KEY ("senderEntityId") REFERENCES "Entity"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Transfer" ADD CONSTRAINT "Transfer_receiverEntityId_fkey" FOREIGN KEY ("receiverEntityId") REFERENCES "Entity"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Transfer" ADD CONSTRAINT "Transfer_createdById_fkey" FOREIGN KEY ("createdById") REFERENCES "User"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Task" ADD CONSTRAINT "Task_transferId_fkey" FOREIGN KEY ("transferId") REFERENCES "Transfer"("id") ON DELETE RESTRICT ON UPDATE CASCADE;
