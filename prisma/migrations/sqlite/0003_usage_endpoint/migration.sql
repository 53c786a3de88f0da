-- AlterTable
-- A NOT NULL column with a constant default is added in place (as in 0002).
ALTER TABLE "UsageRecord" ADD COLUMN "endpoint" TEXT NOT NULL DEFAULT 'chat';
