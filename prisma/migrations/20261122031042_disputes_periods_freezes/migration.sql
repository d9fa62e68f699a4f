-- CreateEnum
CREATE TYPE "ArbitrationDecision" AS ENUM ('UPHOLD_SENDER', 'UPHOLD_RECEIVER', 'ADJUST');

-- CreateEnum
CREATE TYPE "FreezeChoice" AS ENUM ('ESCALATE', 'ROLL_FORWARD');

-- AlterTable
ALTER TABLE "Group" ADD COLUMN     "amberThreshold" DECIMAL(20,2) NOT NULL DEFAULT 10000,
ADD COLUMN     "arbitrationWithin" TEXT NOT NULL DEFAULT 'PT72H',
ADD COLUMN     "cycleCloseCron" TEXT NOT NULL DEFAULT '0 18 * * 5',
ADD COLUMN     "redThreshold" DECIMAL(20,2) NOT NULL DEFAULT 50000;

-- AlterTable
ALTER TABLE "Transfer" ADD COLUMN     "resolution" "ArbitrationDecision",
ADD COLUMN     "resolutionNote" TEXT,
ADD COLUMN     "resolvedAmount" DECIMAL(20,2),
ADD COLUMN     "resolvedById" UUID,
ADD COLUMN     "resolvedDate" DATE,
ADD COLUMN     "resolvedQuantity" DECIMAL(20,6),
ADD COLUMN     "resolvedUnitPrice" DECIMAL(20,6);

-- AlterTable
ALTER TABLE "Period" DROP CONSTRAINT "Period_pkey",
ADD COLUMN     "choice" "FreezeChoice",
ADD COLUMN     "groupId" UUID NOT NULL,
ADD CONSTRAINT "Period_pkey" PRIMARY KEY ("groupId", "period");

-- CreateTable
CREATE TABLE "Comment" (
    "id" UUID NOT NULL,
    "transferId" UUID NOT NULL,
    "authorId" UUID NOT NULL,
    "authorName" TEXT NOT NULL,
    "text" TEXT NOT NULL,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "Comment_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "FxRate" (
    "groupId" UUID NOT NULL,
    "period" TEXT NOT NULL,
    "currency" CHAR(3) NOT NULL,
    "rate" DECIMAL(20,8) NOT NULL,
    "updatedAt" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "FxRate_pkey" PRIMARY KEY ("groupId","period","currency")
);

-- CreateTable
CREATE TABLE "PaymentFreeze" (
    "entityId" UUID NOT NULL,
    "since" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "cycle" TEXT NOT NULL,

    CONSTRAINT "PaymentFreeze_pkey" PRIMARY KEY ("entityId")
);

-- CreateTable
CREATE TABLE "PaymentFreezeItem" (
    "entityId" UUID NOT NULL,
    "transferId" UUID NOT NULL,

    CONSTRAINT "PaymentFreezeItem_pkey" PRIMARY KEY ("entityId","transferId")
);

-- CreateIndex
CREATE INDEX "Comment_transferId_createdAt_idx" ON "Comment"("transferId", "createdAt");

-- CreateIndex
CREATE INDEX "PaymentFreezeItem_transferId_idx" ON "PaymentFreezeItem"("transferId");

-- AddForeignKey
ALTER TABLE "Period" ADD CONSTRAINT "Period_groupId_fkey" FOREIGN KEY ("groupId") REFERENCES "Group"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Comment" ADD CONSTRAINT "Comment_transferId_fkey" FOREIGN KEY ("transferId") REFERENCES "Transfer"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "FxRate" ADD CONSTRAINT "FxRate_groupId_fkey" FOREIGN KEY ("groupId") REFERENCES "Group"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "PaymentFreeze" ADD CONSTRAINT "PaymentFreeze_entityId_fkey" FOREIGN KEY ("entityId") REFERENCES "Entity"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "PaymentFreezeItem" ADD CONSTRAINT "PaymentFreezeItem_entityId_fkey" FOREIGN KEY ("entityId") REFERENCES "PaymentFreeze"("entityId") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "PaymentFreezeItem" ADD CONSTRAINT "PaymentFreezeItem_transferId_fkey" FOREIGN KEY ("transferId") REFERENCES "Transfer"("id") ON DELETE RESTRICT ON UPDATE CASCADE;
