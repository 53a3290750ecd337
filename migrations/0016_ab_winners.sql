CREATE TABLE "ab_winners" (
	"workspace_id" uuid NOT NULL,
	"sequence_id" uuid NOT NULL,
	"step_id" text NOT NULL,
	"copy_key" text NOT NULL,
	"version" integer NOT NULL,
	"variant" integer NOT NULL,
	"p_value" double precision NOT NULL,
	"confidence" double precision NOT NULL,
	"tallies" jsonb NOT NULL,
	"promoted_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "ab_winners_sequence_id_step_id_copy_key_pk" PRIMARY KEY("sequence_id","step_id","copy_key")
);
--> statement-breakpoint
ALTER TABLE "ab_winners" ADD CONSTRAINT "ab_winners_workspace_id_workspaces_id_fk" FOREIGN KEY ("workspace_id") REFERENCES "public"."workspaces"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "ab_winners" ADD CONSTRAINT "ab_winners_sequence_id_sequences_id_fk" FOREIGN KEY ("sequence_id") REFERENCES "public"."sequences"("id") ON DELETE cascade ON UPDATE no action;
