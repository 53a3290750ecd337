-- The pre-launch list check (issue 19): the projected bounce share above which an enrollment that
-- asks for the check is refused (percent, default 4), and whether every enrollment of the
-- workspace is checked without asking.
ALTER TABLE "workspaces" ADD COLUMN "bounce_threshold_percent" double precision DEFAULT 4 NOT NULL;--> statement-breakpoint
ALTER TABLE "workspaces" ADD COLUMN "check_on_enroll" boolean DEFAULT false NOT NULL;
