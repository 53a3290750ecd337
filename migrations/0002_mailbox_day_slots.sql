ALTER TABLE "mailboxes" ADD COLUMN "day_start" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "mailboxes" ADD COLUMN "day_end" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "mailboxes" ADD COLUMN "day_slots" integer DEFAULT 0 NOT NULL;