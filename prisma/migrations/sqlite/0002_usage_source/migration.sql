-- AlterTable
-- `prisma migrate diff` writes a table copy here (RedefineTables); SQLite adds
-- a NOT NULL column with a constant default in place, without rewriting rows,
-- and the result is the same table (checked with migrate diff --from-url).
ALTER TABLE "UsageRecord" ADD COLUMN "usageSource" TEXT NOT NULL DEFAULT 'upstream';
