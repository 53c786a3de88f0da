-- CreateTable
-- Responses API objects kept for GET /v1/responses/{id} and previous_response_id.
CREATE TABLE "StoredResponse" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "keyId" TEXT,
    "tenant" TEXT,
    "model" TEXT NOT NULL,
    "input" TEXT NOT NULL,
    "instructions" TEXT,
    "output" TEXT NOT NULL,
    "previousResponseId" TEXT,
    "usage" TEXT,
    "status" TEXT NOT NULL,
    "envelope" TEXT NOT NULL,
    "createdAt" DATETIME NOT NULL
);

-- CreateIndex
CREATE INDEX "StoredResponse_keyId_createdAt_idx" ON "StoredResponse"("keyId", "createdAt");
