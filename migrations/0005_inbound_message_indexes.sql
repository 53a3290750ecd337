DROP INDEX "messages_inbound_status_idx";--> statement-breakpoint
-- Inbound Message-IDs longer than RFC 5322's 998-byte line are junk the engine no longer keeps
-- (src/modules/webhooks/inbound-email.ts); they would not fit this index. The raw header stays in
-- the row's headers.
UPDATE "messages" SET "message_id" = NULL WHERE "direction" = 'inbound' AND octet_length("message_id") > 998;--> statement-breakpoint
CREATE UNIQUE INDEX "messages_inbound_message_id_uq" ON "messages" USING btree ("workspace_id","message_id") WHERE "messages"."direction" = 'inbound' and "messages"."message_id" is not null;--> statement-breakpoint
CREATE INDEX "messages_inbound_status_idx" ON "messages" USING btree ("workspace_id","status","created_at") WHERE "messages"."direction" = 'inbound';