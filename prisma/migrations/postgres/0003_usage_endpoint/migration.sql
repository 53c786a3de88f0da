-- AlterTable
ALTER TABLE "UsageRecord" ADD COLUMN     "endpoint" TEXT NOT NULL DEFAULT 'chat';
