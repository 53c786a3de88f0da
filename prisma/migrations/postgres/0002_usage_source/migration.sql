-- AlterTable
ALTER TABLE "UsageRecord" ADD COLUMN     "usageSource" TEXT NOT NULL DEFAULT 'upstream';
