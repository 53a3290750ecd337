import { loadConfig } from './config';
import { createDeps, type Deps } from './context';
import { checkEncryptionKey } from './db/key-check';
import { withEncryptionKey } from './lib/encryption-key';
import { ensureDatabase, runMigrations } from './db/migrate';
import { createLogger } from './logger';
import { IMPORT_USAGE, importCsvCommand } from './api/leads/leads.cli';
import { LINKEDIN_CHECK_USAGE, linkedinCheckCommand } from './api/linkedin-accounts/linkedin-accounts.cli';
import { createWorkspace } from './api/workspaces/workspaces.service';
import { workspaceArg } from './lib/cli-args';
import {
  applySequenceFiles,
  loadSequenceFile,
  sequenceFiles,
  type SequenceFile,
} from './api/sequences/apply';

type Command = { usage: string; run(deps: Deps, args: string[]): Promise<void> };

const print = (value: unknown) => process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);

/** CLI commands; each prints JSON so scripts can read it. */
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
  'sequences:apply': {
    usage: 'sequences:apply <file.yaml|dir> --workspace <workspace id>',
    async run(deps, args) {
      const { workspaceId, positional } = await workspaceArg(deps.db, args, this.usage);
      const loaded = await Promise.all((await sequenceFiles(positional[0] ?? '')).map(loadSequenceFile));
      const problems = loaded.filter((l) => 'errors' in l);
      // All or nothing: one invalid file applies none, so a directory never lands half-way.
      if (problems.length > 0)
        throw new Error(`invalid sequence files:\n${JSON.stringify(problems, null, 2)}`);
      print(
        await applySequenceFiles(
          deps,
          workspaceId,
          loaded.filter((l): l is SequenceFile => 'body' in l),
        ),
      );
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

async function main(): Promise<void> {
  const [name, ...args] = process.argv.slice(2);
  const command = name ? commands[name] : undefined;
  if (!command) {
    process.stderr.write(
      `usage: npm run cli -- <command>\n${Object.values(commands)
        .map((c) => `  ${c.usage}`)
        .join('\n')}\n`,
    );
    process.exit(name ? 2 : 0);
  }
  const log = createLogger(process.env.LOG_LEVEL ?? 'warn');
  const config = withEncryptionKey(loadConfig(), log);
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
