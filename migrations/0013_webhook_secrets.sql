-- The inbound webhook secret a rotation replaced, kept until its grace period ends so senders can switch over.
ALTER TABLE "workspaces" ADD COLUMN "previous_webhook_secret_enc" text;--> statement-breakpoint
ALTER TABLE "workspaces" ADD COLUMN "previous_webhook_secret_expires_at" timestamp with time zone;
