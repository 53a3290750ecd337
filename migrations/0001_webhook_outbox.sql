ALTER TABLE "webhook_deliveries" ALTER COLUMN "event_id" SET DATA TYPE bigint;--> statement-breakpoint
ALTER TABLE "webhook_deliveries" ADD COLUMN "enqueued_at" timestamp with time zone;--> statement-breakpoint
CREATE INDEX "webhook_deliveries_pending_idx" ON "webhook_deliveries" USING btree ("created_at") WHERE "webhook_deliveries"."status" = 'pending';