ALTER TABLE "mailboxes" ADD COLUMN "signature" text;--> statement-breakpoint
ALTER TABLE "notes" ADD COLUMN "author" text;--> statement-breakpoint
ALTER TABLE "notes" ADD COLUMN "author_key_id" uuid;--> statement-breakpoint
ALTER TABLE "notes" ADD COLUMN "updated_at" timestamp with time zone DEFAULT now() NOT NULL;--> statement-breakpoint
ALTER TABLE "tasks" ADD COLUMN "assignee" text;--> statement-breakpoint
ALTER TABLE "tasks" ADD COLUMN "due_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "tasks" ADD COLUMN "updated_at" timestamp with time zone DEFAULT now() NOT NULL;--> statement-breakpoint
CREATE INDEX "tasks_ws_created_idx" ON "tasks" USING btree ("workspace_id","created_at","id");--> statement-breakpoint
UPDATE "notes" SET "updated_at" = "created_at";--> statement-breakpoint
UPDATE "tasks" SET "updated_at" = coalesce("done_at", "created_at");
