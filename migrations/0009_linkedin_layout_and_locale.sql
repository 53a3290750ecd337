ALTER TABLE "linkedin_accounts" ADD COLUMN "locale" text;--> statement-breakpoint
ALTER TABLE "linkedin_accounts" ADD COLUMN "when_note_quota_exhausted" text DEFAULT 'fail' NOT NULL;--> statement-breakpoint
ALTER TABLE "linkedin_accounts" ADD COLUMN "layout_check" jsonb;--> statement-breakpoint
ALTER TABLE "linkedin_accounts" ADD COLUMN "layout_checked_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "linkedin_accounts" ADD COLUMN "layout_unrecognized_total" integer DEFAULT 0 NOT NULL;