CREATE TABLE "inbox_cursors" (
	"mailbox_id" uuid NOT NULL,
	"folder" text NOT NULL,
	"uid_validity" bigint NOT NULL,
	"last_uid" bigint DEFAULT 0 NOT NULL,
	"highest_modseq" text,
	"last_message_at" timestamp with time zone,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "inbox_cursors_mailbox_id_folder_pk" PRIMARY KEY("mailbox_id","folder")
);
--> statement-breakpoint
ALTER TABLE "mailboxes" ADD COLUMN "imap_host" text;--> statement-breakpoint
ALTER TABLE "mailboxes" ADD COLUMN "imap_port" integer;--> statement-breakpoint
ALTER TABLE "mailboxes" ADD COLUMN "imap_secure" boolean DEFAULT true NOT NULL;--> statement-breakpoint
ALTER TABLE "mailboxes" ADD COLUMN "imap_tls" text DEFAULT 'required' NOT NULL;--> statement-breakpoint
ALTER TABLE "mailboxes" ADD COLUMN "imap_user" text;--> statement-breakpoint
ALTER TABLE "mailboxes" ADD COLUMN "imap_pass_enc" text;--> statement-breakpoint
ALTER TABLE "mailboxes" ADD COLUMN "imap_folders" jsonb;--> statement-breakpoint
ALTER TABLE "mailboxes" ADD COLUMN "oauth2" jsonb;--> statement-breakpoint
ALTER TABLE "mailboxes" ADD COLUMN "oauth2_secret_enc" text;--> statement-breakpoint
ALTER TABLE "mailboxes" ADD COLUMN "oauth2_access_enc" text;--> statement-breakpoint
ALTER TABLE "mailboxes" ADD COLUMN "oauth2_access_expires_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "mailboxes" ADD COLUMN "inbox_status" text DEFAULT 'disabled' NOT NULL;--> statement-breakpoint
ALTER TABLE "mailboxes" ADD COLUMN "inbox_last_sync_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "mailboxes" ADD COLUMN "inbox_last_error" text;--> statement-breakpoint
ALTER TABLE "mailboxes" ADD COLUMN "inbox_failures" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "mailboxes" ADD COLUMN "inbox_errors_total" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "mailboxes" ADD COLUMN "inbox_retry_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "mailboxes" ADD COLUMN "inbox_lease_owner" text;--> statement-breakpoint
ALTER TABLE "mailboxes" ADD COLUMN "inbox_lease_until" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "inbox_cursors" ADD CONSTRAINT "inbox_cursors_mailbox_id_mailboxes_id_fk" FOREIGN KEY ("mailbox_id") REFERENCES "public"."mailboxes"("id") ON DELETE cascade ON UPDATE no action;