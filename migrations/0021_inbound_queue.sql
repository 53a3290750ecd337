-- Inbound webhooks posted with `Prefer: respond-async`: acknowledged after this one durable write
-- (with their receipt), applied by workers in order. While a workspace has rows here, its steps do
-- not start a hand-off (they wait a moment), so a reply acknowledged before a hand-off prevents it.
CREATE TABLE "inbound_queue" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"workspace_id" uuid NOT NULL REFERENCES "workspaces"("id") ON DELETE cascade,
	"kind" text NOT NULL,
	"body" bytea NOT NULL,
	"received_at" timestamp with time zone DEFAULT now() NOT NULL,
	"attempts" integer DEFAULT 0 NOT NULL,
	"last_error" text
);--> statement-breakpoint
CREATE INDEX "inbound_queue_ws_idx" ON "inbound_queue" USING btree ("workspace_id");
