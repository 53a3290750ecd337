-- Jobs: long work asked for over HTTP (a large CSV import, enrolling or pausing tens of thousands of
-- leads). The request stores the work and answers 202; a worker claims the row with a lease, writes
-- its progress to it, and the per-item failures to job_failures. An upload is kept in 1 MiB chunks
-- until the job ends.
CREATE TABLE "jobs" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"workspace_id" uuid NOT NULL REFERENCES "workspaces"("id") ON DELETE cascade,
	"type" text NOT NULL,
	"status" text DEFAULT 'queued' NOT NULL,
	"params" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"total" integer,
	"done" integer DEFAULT 0 NOT NULL,
	"bytes_total" bigint,
	"bytes_done" bigint DEFAULT 0 NOT NULL,
	"result" jsonb,
	"failure_count" integer DEFAULT 0 NOT NULL,
	"error" text,
	"attempts" integer DEFAULT 0 NOT NULL,
	"lease_until" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"started_at" timestamp with time zone,
	"finished_at" timestamp with time zone,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);--> statement-breakpoint
CREATE INDEX "jobs_ws_idx" ON "jobs" USING btree ("workspace_id","created_at");--> statement-breakpoint
CREATE INDEX "jobs_open_idx" ON "jobs" USING btree ("created_at") WHERE "jobs"."status" in ('uploading', 'queued', 'running');--> statement-breakpoint
CREATE TABLE "job_chunks" (
	"job_id" uuid NOT NULL REFERENCES "jobs"("id") ON DELETE cascade,
	"seq" integer NOT NULL,
	"data" bytea NOT NULL,
	CONSTRAINT "job_chunks_job_id_seq_pk" PRIMARY KEY("job_id","seq")
);--> statement-breakpoint
CREATE TABLE "job_failures" (
	"job_id" uuid NOT NULL REFERENCES "jobs"("id") ON DELETE cascade,
	"n" integer NOT NULL,
	"line" integer,
	"lead_id" uuid,
	"error" text NOT NULL,
	CONSTRAINT "job_failures_job_id_n_pk" PRIMARY KEY("job_id","n")
);
