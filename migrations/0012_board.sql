ALTER TABLE "leads" ADD COLUMN "deal_value" numeric(16, 2);--> statement-breakpoint
ALTER TABLE "leads" ADD COLUMN "deal_currency" text;--> statement-breakpoint
ALTER TABLE "leads" ADD COLUMN "owner" text;--> statement-breakpoint
ALTER TABLE "stages" ADD COLUMN "stale_days" integer;--> statement-breakpoint
CREATE INDEX "leads_stage_activity_idx" ON "leads" USING btree ("workspace_id","stage","last_activity_at","id");
