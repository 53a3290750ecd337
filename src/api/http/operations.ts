/**
 * What the OpenAPI document says about each operation beyond what its route's zod schemas say:
 * its operationId, a summary where the route has none, what each success answer means, and the
 * errors its shape does not reveal (see `derivedErrors` in openapi-contract.ts for the rest).
 * Keyed by `METHOD path` as the document spells it. A route without an entry fails
 * test/api/openapi.test.ts, which lists it.
 */

/** The error statuses the document declares; 503 only on /health, which answers it with a body. */
export type ErrorStatus = 400 | 401 | 404 | 409 | 413 | 415 | 422 | 429 | 500;

export type RawBody = { mediaType: string; description: string; example?: string };

export type OperationSpec = {
  /** camelCase, verb first: list/get/create/update/replace/delete + the resource, or the action. */
  id: string;
  /** Only for routes that declare no summary of their own (theirs wins). */
  summary?: string;
  /** What a success answer means: one text for the only 2xx, or one per status. */
  ok: string | Record<number, string>;
  /** Errors the route's shape does not reveal, with what they mean here. */
  errors?: Partial<Record<ErrorStatus, string>>;
  /** Errors derived from the shape that this route cannot return. */
  never?: ErrorStatus[];
  /** A body the route reads raw (its own parser), so its schemas cannot show it. */
  rawBody?: RawBody;
  /** The route answers HTML pages, not JSON (success and 404 alike). */
  html?: true;
  /** The success answer's media type when it is not JSON (a CSV download). */
  produces?: 'text/csv';
};

const deleted = 'Deleted; no body';

export const operations: Record<string, OperationSpec> = {
  'GET /health': {
    id: 'getHealth',
    ok: { 200: 'Postgres and Redis answer', 503: 'Postgres or Redis does not answer: see which' },
    // Not rate limited (probes), no input to refuse, and every probe failure is a 503 body.
    never: [429, 500],
  },

  'POST /v1/workspaces': { id: 'createWorkspace', ok: 'The workspace, its first API key and webhook secret' },
  'GET /v1/workspaces/{id}/webhook-secret': {
    id: 'getWorkspaceWebhookSecret',
    ok: 'The secret, and the previous one while it still verifies',
  },
  'POST /v1/workspaces/{id}/webhook-secret/rotate': {
    id: 'rotateWorkspaceWebhookSecret',
    ok: 'The new secret, and until when the previous one verifies',
  },
  'GET /v1/workspace': { id: 'getWorkspace', ok: "The caller's workspace" },
  'PATCH /v1/workspace': { id: 'updateWorkspace', ok: 'The workspace' },
  'POST /v1/api-keys': { id: 'createApiKey', summary: 'Create an API key', ok: 'The key (shown once)' },
  'GET /v1/api-keys': { id: 'listApiKeys', summary: 'List API keys', ok: 'Keys, without their secret' },
  'DELETE /v1/api-keys/{id}': { id: 'revokeApiKey', summary: 'Revoke an API key', ok: 'Revoked' },

  'POST /v1/mailboxes': { id: 'createMailbox', ok: 'The mailbox, secrets sealed and not returned' },
  'GET /v1/mailboxes': { id: 'listMailboxes', summary: 'List mailboxes', ok: 'A page of mailboxes' },
  'GET /v1/mailboxes/{id}': { id: 'getMailbox', summary: 'Read a mailbox', ok: 'The mailbox' },
  'PATCH /v1/mailboxes/{id}': { id: 'updateMailbox', summary: 'Change a mailbox', ok: 'The mailbox' },
  'DELETE /v1/mailboxes/{id}': { id: 'deleteMailbox', ok: deleted },
  'POST /v1/mailboxes/{id}/verify': { id: 'verifyMailbox', ok: 'What worked, per protocol' },

  'POST /v1/suppressions': {
    id: 'createSuppression',
    ok: { 200: 'Already suppressed', 201: 'Suppressed' },
  },
  'GET /v1/suppressions': { id: 'listSuppressions', summary: 'List suppressions', ok: 'A page' },
  'DELETE /v1/suppressions': {
    id: 'deleteSuppressionByValue',
    ok: 'Lifted',
    errors: { 404: 'not_found: nothing suppressed with this value' },
  },
  'DELETE /v1/suppressions/{id}': { id: 'deleteSuppression', summary: 'Lift a suppression', ok: 'Lifted' },

  'POST /v1/sequences': {
    id: 'createSequence',
    ok: 'The draft sequence',
    errors: { 409: 'name_taken: another sequence has this name' },
  },
  'GET /v1/sequences': { id: 'listSequences', summary: 'List sequences', ok: 'A page of sequences' },
  'GET /v1/sequences/{id}': { id: 'getSequence', summary: 'Read a sequence', ok: 'The sequence' },
  'PUT /v1/sequences/{id}': {
    id: 'replaceSequence',
    ok: 'The sequence at its new version',
    errors: { 409: 'name_taken, or sequence_archived' },
  },
  'DELETE /v1/sequences/{id}': {
    id: 'deleteSequence',
    ok: deleted,
    errors: { 409: 'not_draft (archive it instead), or has_enrollments' },
  },
  'GET /v1/sequences/{id}/versions': { id: 'listSequenceVersions', ok: 'A page of versions' },
  'POST /v1/sequences/{id}/clone': {
    id: 'cloneSequence',
    ok: 'The new draft',
    errors: { 409: 'name_taken: another sequence has this name' },
  },
  'POST /v1/sequences/{id}/migrate': {
    id: 'migrateSequenceEnrollments',
    ok: 'How many enrollments moved, and which were skipped',
  },
  'POST /v1/sequences/{id}/activate': {
    id: 'activateSequence',
    summary: 'Activate a sequence: enrolled leads start',
    ok: 'The sequence',
    errors: { 409: 'sequence_archived' },
  },
  'POST /v1/sequences/{id}/pause': {
    id: 'pauseSequence',
    summary: 'Pause a sequence: no step runs until it is activated again',
    ok: 'The sequence',
    errors: { 409: 'sequence_archived' },
  },
  'POST /v1/sequences/{id}/archive': {
    id: 'archiveSequence',
    summary: 'Archive a sequence (final)',
    ok: 'The sequence',
    errors: { 409: 'sequence_archived: already archived' },
  },
  'POST /v1/sequences/{id}/enrollments': {
    id: 'enrollLeads',
    summary: 'Enroll leads in a sequence; leads already enrolled or suppressed are skipped',
    ok: 'How many were enrolled, and which were skipped and why',
    errors: {
      409: 'sequence_archived',
      422: 'bounce_threshold_exceeded: with the check on, the share of leads expected to bounce is above the workspace threshold; details list each offending lead (leadId, email, reasons)',
    },
  },
  'POST /v1/sequences/{id}/preview': {
    id: 'previewSequenceStep',
    ok: 'The step rendered for the lead as it would be sent: headers, subject, text, HTML, variant, missing variables',
    errors: {
      404: 'not_found: no such sequence, version, step (details: body.stepId) or lead (details: body.leadId)',
      422: 'template_error: the step’s template does not render for this lead',
    },
  },
  'POST /v1/sequences/{id}/test-send': {
    id: 'testSendSequenceStep',
    ok: 'Sent to the given address, marked as a test; nothing is recorded for the lead',
    errors: {
      404: 'not_found: no such sequence, step, lead or mailbox (details name the field)',
      409: 'no_mailbox: no active mailbox to send from; mailbox_paused: the chosen (or the step’s) mailbox is paused',
      422: 'send_failed: the mailbox’s SMTP server refused the message (the reason is in the message); template_error; suppressed: body.to (or its domain) is suppressed in this workspace',
    },
  },
  'POST /v1/sequences/{id}/simulate': {
    id: 'simulateSequence',
    summary:
      'Run a version of the sequence for some leads on a virtual clock, with the scheduler, capacity and limits the workers use; writes and sends nothing',
    ok: 'Per lead its steps and their times, per day the planned volume against each cap, when the last lead finishes, and the bottlenecks',
    errors: {
      400: 'too_many_leads: the filter matches more than 10,000 leads; validation_failed on body.version for an unknown version',
      404: 'not_found (the sequence), leads_not_found (lead ids not in this workspace)',
      409: 'sequence_archived: enrollment would refuse it',
    },
  },
  'GET /v1/sequences/{id}/stats': {
    id: 'getSequenceStats',
    summary:
      'Per step and A/B variant: runs by status, sent, delivered, human replies, automatic replies, bounces, unsubscribes and the reply rate',
    ok: 'The statistics',
  },

  'GET /v1/sequences/{id}/enrollments': { id: 'listSequenceEnrollments', ok: 'A page of enrollments' },
  'GET /v1/leads/{id}/enrollments': { id: 'listLeadEnrollments', ok: 'A page of enrollments' },
  'GET /v1/enrollments/{id}': { id: 'getEnrollment', summary: 'Read an enrollment', ok: 'The enrollment' },
  'GET /v1/step-runs': { id: 'listStepRuns', ok: 'Step runs, oldest first' },
  'POST /v1/step-runs/{id}/resolve': {
    id: 'resolveStepRun',
    ok: 'Resolved',
    errors: { 409: 'not_ambiguous: only an ambiguous run can be resolved' },
  },
  'POST /v1/enrollments/{id}/pause': {
    id: 'pauseEnrollment',
    summary: "Pause one lead's cadence",
    ok: 'The enrollment',
    errors: { 409: 'invalid_state: the enrollment is not active' },
  },
  'POST /v1/enrollments/{id}/resume': {
    id: 'resumeEnrollment',
    summary: "Resume one lead's paused cadence",
    ok: 'The enrollment',
    errors: { 409: 'invalid_state: the enrollment is not paused' },
  },
  'POST /v1/enrollments/{id}/stop': {
    id: 'stopEnrollment',
    summary: "Stop one lead's cadence for good",
    ok: 'The enrollment',
    errors: { 409: 'invalid_state: the enrollment has already ended' },
  },

  'POST /v1/linkedin-accounts': { id: 'createLinkedInAccount', ok: 'The account; the session is sealed' },
  'GET /v1/linkedin-accounts': {
    id: 'listLinkedInAccounts',
    summary: 'List LinkedIn accounts',
    ok: 'A page',
  },
  'GET /v1/linkedin-accounts/{id}': {
    id: 'getLinkedInAccount',
    summary: 'Read a LinkedIn account',
    ok: 'The account',
  },
  'PATCH /v1/linkedin-accounts/{id}': { id: 'updateLinkedInAccount', ok: 'The account' },
  'DELETE /v1/linkedin-accounts/{id}': {
    id: 'deleteLinkedInAccount',
    summary: 'Remove a LinkedIn account',
    ok: deleted,
  },

  'POST /v1/leads': {
    id: 'upsertLead',
    ok: { 200: 'An existing lead, updated', 201: 'A new lead' },
    errors: { 409: 'lead_identity_conflict: the email and the LinkedIn URL belong to two leads' },
  },
  'GET /v1/leads': { id: 'listLeads', ok: 'A page of leads' },
  'POST /v1/leads/bulk': { id: 'upsertLeads', ok: 'Counts, and each refused row with its reason' },
  'POST /v1/leads/import': {
    id: 'importLeadsCsv',
    ok: 'Counts, and each refused row with its reason (line: the file line, header = 1; index: data row from 0)',
    rawBody: {
      mediaType: 'text/csv',
      description:
        'A header row, then one lead per row (columns: docs/csv.md); unknown columns become custom fields',
      example: 'email,first_name,company\nada@example.com,Ada,Analytical Engines\n',
    },
    errors: {
      413: 'payload_too_large: the CSV is above the import limit',
      415: 'unsupported_media_type: send Content-Type: text/csv',
    },
  },
  'POST /v1/imports': {
    id: 'createImportJob',
    ok: 'The job, queued: poll its Location (GET /v1/imports/{id}) for progress',
    rawBody: {
      mediaType: 'text/csv',
      description:
        'A header row, then one lead per row (columns: docs/csv.md); unknown columns become custom fields',
      example: 'email,first_name,company\nada@example.com,Ada,Analytical Engines\n',
    },
    errors: {
      400: 'invalid_csv: the header row is missing or unusable (checked before anything is stored)',
      413: 'payload_too_large: the CSV is above the job limit (256 MiB)',
      415: 'unsupported_media_type: send Content-Type: text/csv',
    },
  },
  'GET /v1/imports/{id}': { id: 'getImportJob', ok: 'The import: status, progress, counts, first failures' },
  'GET /v1/imports/{id}/failures': {
    id: 'getImportJobFailures',
    ok: 'Every refused row as CSV: line (the header is line 1), lead_id (empty), error',
    produces: 'text/csv',
  },
  'POST /v1/jobs': {
    id: 'createBulkJob',
    ok: 'The job, queued: poll its Location (GET /v1/jobs/{id}) for progress',
    errors: {
      400: 'too_many_leads: the filter matches more leads than one job takes (200,000); checked_enrollment: the workspace checks every enrollment (checkOnEnroll), so enroll through the enrollments route',
    },
  },
  'GET /v1/jobs': { id: 'listJobs', ok: 'A page of jobs, newest first' },
  'GET /v1/jobs/{id}': { id: 'getJob', ok: 'The job: status, progress, counts, first failures' },
  'GET /v1/jobs/{id}/failures': {
    id: 'getJobFailures',
    ok: 'Every failure as CSV: line (imports), lead_id (bulk jobs), error',
    produces: 'text/csv',
  },
  'POST /v1/leads/check': {
    id: 'checkLeadAddresses',
    ok: 'Per address (emails first, then leadIds, in order): the checks and a verdict; a summary with the projected bounce share',
    errors: {
      404: 'not_found: a lead id is not a lead of this workspace (details name each)',
      429: 'rate_limited: the workspace already has 2 checks running (Retry-After)',
    },
  },
  'GET /v1/leads/{id}': { id: 'getLead', summary: 'Read a lead', ok: 'The lead' },
  'PATCH /v1/leads/{id}': {
    id: 'updateLead',
    summary: 'Change some fields of a lead',
    ok: 'The lead',
    errors: { 409: 'lead_exists: another lead has this email or LinkedIn URL' },
  },
  'DELETE /v1/leads/{id}': { id: 'eraseLead', ok: 'Erased' },
  'POST /v1/leads/{id}/stage': { id: 'moveLeadStage', ok: 'The lead in its new stage' },
  'GET /v1/leads/{id}/timeline': { id: 'getLeadTimeline', ok: 'Timeline entries, newest first' },
  'POST /v1/leads/{id}/notes': { id: 'createLeadNote', summary: 'Add a note to a lead', ok: 'The note' },
  'GET /v1/leads/{id}/notes': { id: 'listLeadNotes', ok: 'A page of notes' },
  'PATCH /v1/leads/{leadId}/notes/{noteId}': { id: 'updateLeadNote', ok: 'The note' },
  'DELETE /v1/leads/{leadId}/notes/{noteId}': { id: 'deleteLeadNote', ok: deleted },

  'GET /v1/pipeline/stages': { id: 'listStages', ok: 'The stages, in order' },
  'PUT /v1/pipeline/stages': {
    id: 'replaceStages',
    ok: 'The stages, and how many leads moved',
    errors: { 409: 'stage_has_leads: removed stages still hold leads; details say which' },
  },
  'GET /v1/pipeline': { id: 'getPipelineBoard', ok: 'One column per stage' },
  'POST /v1/pipeline/cleanup': { id: 'runPipelineCleanup', ok: 'How many leads moved' },
  'GET /v1/pipeline/cleanup/schedule': {
    id: 'getCleanupSchedule',
    summary: 'The clean-up schedule, if any',
    ok: 'The schedule, or null',
  },
  'PUT /v1/pipeline/cleanup/schedule': { id: 'setCleanupSchedule', ok: 'The schedule' },
  'DELETE /v1/pipeline/cleanup/schedule': {
    id: 'deleteCleanupSchedule',
    summary: 'Stop the scheduled clean-up',
    ok: deleted,
  },
  'GET /v1/pipeline/scoring': { id: 'getScoringRules', ok: 'The rules' },
  'PUT /v1/pipeline/scoring': { id: 'replaceScoringRules', ok: 'The rules, and how many leads moved' },
  'GET /v1/analytics/funnel': { id: 'getFunnel', ok: 'One row per stage' },

  'POST /v1/webhooks/{workspaceId}/email': {
    id: 'receiveInboundEmail',
    ok: {
      200: 'What the message was matched to (or a duplicate webhook id)',
      202: 'Stored (Prefer: respond-async); applied in the background, before any further hand-off of the workspace',
    },
    never: [404, 415],
  },
  'POST /v1/webhooks/{workspaceId}/email/raw': {
    id: 'receiveInboundRawEmail',
    ok: {
      200: 'What the message was matched to (or a duplicate webhook id)',
      202: 'Stored (Prefer: respond-async); applied in the background, before any further hand-off of the workspace',
    },
    rawBody: {
      mediaType: 'message/rfc822',
      description: 'The message as received (RFC 5322), headers and body; at most 1 MiB',
      example:
        'From: ada@example.com\r\nTo: sales@acme.example\r\nSubject: Re: hello\r\n\r\nYes, call me.\r\n',
    },
    never: [404, 415],
  },
  'POST /v1/webhooks/{workspaceId}/linkedin': {
    id: 'receiveLinkedInEvent',
    ok: 'What the event was matched to',
    never: [404, 415],
  },
  'POST /v1/replies': {
    id: 'recordReply',
    ok: 'The lead and what the reply changed',
    errors: { 404: 'not_found: no such lead' },
  },
  'GET /v1/inbound': { id: 'listInboundMessages', ok: 'A page of inbound messages' },

  'POST /v1/webhook-endpoints': {
    id: 'createWebhookEndpoint',
    ok: 'The endpoint and its signing secret (shown once)',
    errors: { 409: 'limit_reached: too many endpoints in this workspace' },
  },
  'PATCH /v1/webhook-endpoints/{id}': { id: 'updateWebhookEndpoint', ok: 'The endpoint' },
  'POST /v1/webhook-endpoints/{id}/rotate-secret': {
    id: 'rotateWebhookEndpointSecret',
    ok: 'The new signing secret (shown once), and until when the previous one signs too',
  },
  'POST /v1/webhook-endpoints/{id}/deliveries/{deliveryId}/replay': {
    id: 'replayWebhookDelivery',
    ok: 'Queued again; it is pending',
    errors: { 409: 'delivery_pending: the delivery is still on its way' },
  },
  'POST /v1/webhook-endpoints/{id}/test': {
    id: 'pingWebhookEndpoint',
    ok: 'What the receiver answered (a refusal is reported here, not as an error)',
  },
  'GET /v1/webhook-endpoints': {
    id: 'listWebhookEndpoints',
    summary: 'List webhook endpoints',
    ok: 'A page',
  },
  'GET /v1/webhook-endpoints/{id}': {
    id: 'getWebhookEndpoint',
    summary: 'Read a webhook endpoint',
    ok: 'The endpoint',
  },
  'DELETE /v1/webhook-endpoints/{id}': {
    id: 'deleteWebhookEndpoint',
    summary: 'Delete a webhook endpoint',
    ok: deleted,
  },
  'GET /v1/webhook-endpoints/{id}/deliveries': { id: 'listWebhookDeliveries', ok: 'A page of deliveries' },

  'GET /v1/tasks': { id: 'listTasks', ok: 'A page of tasks' },
  'PATCH /v1/tasks/{id}': { id: 'updateTask', ok: 'The task' },

  'GET /v1/automations': {
    id: 'listAutomations',
    ok: 'Every rule of the workspace, with its runs by outcome',
  },
  'POST /v1/automations': {
    id: 'createAutomation',
    ok: 'The rule; it acts on events from now on',
    errors: { 409: 'too_many_automations: the workspace already keeps the most rules it may (100)' },
  },
  'GET /v1/automations/{id}': { id: 'getAutomation', ok: 'The rule, with its runs by outcome' },
  'PATCH /v1/automations/{id}': { id: 'updateAutomation', ok: 'The rule' },
  'DELETE /v1/automations/{id}': { id: 'deleteAutomation', ok: deleted },

  'GET /u/{token}': { id: 'showUnsubscribePage', ok: 'A page with the unsubscribe button', html: true },
  'POST /u/{token}': { id: 'unsubscribe', ok: 'A page saying it is done', html: true },
};
