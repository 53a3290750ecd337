-- Holidays: a lead's country (ISO 3166-1 alpha-2) and the workspace's default. Checked by the API;
-- nullable columns without a default, so adding them rewrites no rows.
ALTER TABLE "leads" ADD COLUMN "country" text;--> statement-breakpoint
ALTER TABLE "workspaces" ADD COLUMN "country" text;
