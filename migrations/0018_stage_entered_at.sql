-- When a lead entered its current stage, kept on the lead row (set by every stage move and at
-- creation), so the board's median days in stage is one percentile over an index instead of a
-- stage_events lookup per lead. Existing rows take their latest event into their current stage,
-- else their creation time: what the board computed before.
ALTER TABLE "leads" ADD COLUMN "stage_entered_at" timestamp with time zone DEFAULT now() NOT NULL;--> statement-breakpoint
UPDATE "leads" l SET "stage_entered_at" = coalesce(
  (SELECT max(se."at") FROM "stage_events" se WHERE se."lead_id" = l."id" AND se."to_stage" = l."stage"),
  l."created_at");--> statement-breakpoint
CREATE INDEX "leads_stage_entered_idx" ON "leads" USING btree ("workspace_id","stage","stage_entered_at");
