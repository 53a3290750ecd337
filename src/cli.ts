import pino from 'pino';
import { type Config, loadConfig } from './config';
import { createDeps, type Deps } from './context';
import { checkEncryptionKey } from './db/key-check';
import { withEncryptionKey } from './lib/encryption-key';
import { ensureDatabase, runMigrations } from './db/migrate';
import { createLogger } from './logger';
import { IMPORT_USAGE, importCsvCommand } from './api/leads/leads.cli';
import { LINKEDIN_CHECK_USAGE, linkedinCheckCommand } from './api/linkedin-accounts/linkedin-accounts.cli';
import { createWorkspace } from './api/workspaces/workspaces.service';
import {
  ROTATE_WEBHOOK_SECRET_USAGE,
  rotateWebhookSecretCommand,
  WEBHOOK_SECRET_USAGE,
  webhookSecretCommand,
} from './api/workspaces/workspaces.cli';
import { postReplyCommand, REPLIES_POST_USAGE } from './api/inbound-webhooks/inbound-webhooks.cli';
import { getSequence, setSequenceStatus } from './api/sequences/sequences.service';
import { workspaceArg } from './lib/cli-args';
import { SIMULATE_USAGE, simulateCommand } from './api/sequences/simulate.cli';
import {
  applySequenceFiles,
  loadSequenceFile,
  sequenceFiles,
  type SequenceFile,
} from './api/sequences/apply';

type Command = { usage: string; run(deps: Deps, args: string[]): Promise<void> };

const print = (value: unknown) => process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);

/**
 * CLI commands; each prints JSON on stdout and nothing else, so `npm run -s cli -- … | jq` works
 * (`-s` keeps npm's own banner off stdout). Everything for a person goes to stderr.
 */
export const commands: Record<string, Command> = {
  migrate: {
    usage: 'migrate',
    async run() {
      // Migrations already ran in main(); nothing more to do.
      print({ migrated: true });
    },
  },
  'workspace:create': {
    usage: 'workspace:create <name> [timezone]',
    async run(deps, [name, timezone]) {
      if (!name) throw new UsageError('workspace:create needs a name');
      print(await createWorkspace(deps, { name, timezone }));
    },
  },
  'workspace:webhook-secret': {
    usage: WEBHOOK_SECRET_USAGE,
    async run(deps, args) {
      print(await webhookSecretCommand(deps, args));
    },
  },
  'workspace:rotate-webhook-secret': {
    usage: ROTATE_WEBHOOK_SECRET_USAGE,
    async run(deps, args) {
      print(await rotateWebhookSecretCommand(deps, args));
    },
  },
  'sequences:apply': {
    usage: 'sequences:apply <file.yaml|dir> --workspace <workspace id> [--activate]',
    async run(deps, args) {
      const activate = args.includes('--activate');
      const rest = args.filter((a) => a !== '--activate');
      const { workspaceId, positional } = await workspaceArg(deps.db, rest, this.usage);
      const loaded = await Promise.all((await sequenceFiles(positional[0] ?? '')).map(loadSequenceFile));
      const problems = loaded.filter((l) => 'errors' in l);
      // All or nothing: one invalid file applies none, so a directory never lands half-way.
      if (problems.length > 0)
        throw new Error(`invalid sequence files:\n${JSON.stringify(problems, null, 2)}`);
      const applied = await applySequenceFiles(
        deps,
        workspaceId,
        loaded.filter((l): l is SequenceFile => 'body' in l),
      );
      const results = [];
      for (const result of applied) {
        results.push({ ...result, status: await sequenceStatus(deps, workspaceId, result, activate) });
      }
      print(results);
      // A draft sends nothing: say so where a person reads it, not in the JSON.
      if (results.some((r) => r.status === 'draft'))
        process.stderr.write('some sequences are drafts and send nothing: apply with --activate\n');
    },
  },
  'sequences:simulate': {
    usage: SIMULATE_USAGE,
    async run(deps, args) {
      print(await simulateCommand(deps, args));
    },
  },
  'replies:post': {
    usage: REPLIES_POST_USAGE,
    async run(deps, args) {
      print(await postReplyCommand(deps, args));
    },
  },
  'leads:import': {
    usage: IMPORT_USAGE,
    async run(deps, args) {
      print(await importCsvCommand(deps, args));
    },
  },
  'linkedin:check': {
    usage: LINKEDIN_CHECK_USAGE,
    async run(deps, args) {
      const report = await linkedinCheckCommand(deps, args);
      print(report);
      if (report.ok !== true) process.exitCode = 1;
    },
  },
};

class UsageError extends Error {}

/** The sequence's status after `sequences:apply`, activating it first when asked. */
async function sequenceStatus(
  deps: Deps,
  workspaceId: string,
  applied: { file: string; id: string },
  activate: boolean,
): Promise<string> {
  if (!activate) return (await getSequence(deps, workspaceId, applied.id))?.status ?? 'missing';
  const set = await setSequenceStatus(deps, workspaceId, applied.id, 'active');
  if (!set.ok) throw new Error(`${applied.file}: cannot activate: ${set.error}`);
  return set.value.status;
}

/** Which database the command works on, without its password, so a wrong DATABASE_URL shows. */
function databaseLine(config: Pick<Config, 'DATABASE_URL'>): string {
  const url = new URL(config.DATABASE_URL);
  if (url.password) url.password = '***';
  const from = process.env.DATABASE_URL ? 'DATABASE_URL' : 'the default; set DATABASE_URL for another';
  return `database: ${url.toString()} (${from})`;
}

async function main(): Promise<void> {
  const [name, ...args] = process.argv.slice(2);
  const command = name ? commands[name] : undefined;
  if (!command) {
    process.stderr.write(
      `usage: npm run -s cli -- <command>\n${Object.values(commands)
        .map((c) => `  ${c.usage}`)
        .join('\n')}\n`,
    );
    process.exit(name ? 2 : 0);
  }
  // Logs go to stderr: stdout is the command's JSON only.
  const log = createLogger(process.env.LOG_LEVEL ?? 'warn', pino.destination(2));
  const config = withEncryptionKey(loadConfig(), log);
  process.stderr.write(`${databaseLine(config)}\n`);
  await ensureDatabase(config.DATABASE_URL);
  const deps = createDeps(config, log, { poolSize: 4 });
  try {
    await runMigrations(deps.db, deps.pool);
    await checkEncryptionKey(deps.db, deps.secrets);
    await command.run(deps, args);
  } finally {
    await deps.close();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
