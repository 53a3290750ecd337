ALTER TABLE "stage_events" DROP CONSTRAINT "stage_events_workspace_id_workspaces_id_fk";
--> statement-breakpoint
DROP INDEX "events_enrollment_idx";--> statement-breakpoint
CREATE INDEX "events_enrollment_idx" ON "events" USING btree ("enrollment_id","type") WHERE "events"."enrollment_id" is not null;