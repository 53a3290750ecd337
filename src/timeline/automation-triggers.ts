import { type SQL, sql } from 'drizzle-orm';

/**
 * The automation trigger write, as the body of a CTE next to the events it reacts to: one
 * `automation_runs` row per (rule, lead) whose trigger the new events meet, in the statement that
 * records them, so a trigger exists exactly when its event commits (as the webhook outbox does).
 * The unique (rule, lead) index makes a rule act once per lead, whatever fires it again.
 *
 * `events` is a relation of the new events (`id`, `workspace_id`, `type`, `lead_id`, `data`);
 * `touched` (optional) the leads whose score the statement changed (`id`, `workspace_id`, `score`,
 * `points`, `erased_at`), for `score_reached`; `created` (optional) leads the statement created
 * (`id`, `stage`), which enter their first stage without a `lead.stage_changed` event.
 */
export function automationTriggerInsert(events: SQL, opts: { touched?: SQL; created?: SQL } = {}): SQL {
  const rule = (ws: SQL) =>
    sql`automations a on a.workspace_id = ${ws} and a.enabled and a.deleted_at is null`;
  const fromEvents = sql`
    select a.workspace_id, a.id, ev.lead_id, ev.id
    from ${events} ev join ${rule(sql`ev.workspace_id`)}
    where ev.lead_id is not null and (
      (ev.type = 'lead.stage_changed' and a.trigger->>'type' = 'stage_entered'
        and a.trigger->>'stage' = ev.data->>'to')
      or (ev.type = 'lead.created' and a.trigger->>'type' = 'lead_created'
        and coalesce(a.trigger->>'source', ev.data->>'source', '') = coalesce(ev.data->>'source', '')))`;
  const fromScores = opts.touched
    ? sql`
    union all
    select a.workspace_id, a.id, t.id, null
    from ${opts.touched} t join ${rule(sql`t.workspace_id`)}
    where a.trigger->>'type' = 'score_reached' and t.erased_at is null and t.points > 0
      and t.score >= (a.trigger->>'threshold')::int and t.score - t.points < (a.trigger->>'threshold')::int`
    : sql``;
  const fromCreated = opts.created
    ? sql`
    union all
    select a.workspace_id, a.id, c.id, ev.id
    from ${opts.created} c join ${events} ev on ev.lead_id = c.id and ev.type = 'lead.created'
    join ${rule(sql`ev.workspace_id`)}
    where a.trigger->>'type' = 'stage_entered' and a.trigger->>'stage' = c.stage`
    : sql``;
  return sql`
    insert into automation_runs (workspace_id, automation_id, lead_id, event_id)
    ${fromEvents} ${fromScores} ${fromCreated}
    on conflict (automation_id, lead_id) do nothing`;
}
