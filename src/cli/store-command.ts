/**
 * `switchyard store migrate|copy`: the list store itself.
 * - `migrate` brings the home's store to this switchyard's schema: needed for
 *   PostgreSQL (never migrated by opening it: several hosts share it, and
 *   every process refuses an older schema with SY_STORE_MIGRATE); for SQLite
 *   it reports what opening the file did anyway.
 * - `copy` moves a site from an SQLite file to PostgreSQL (src/store/store-copy.ts).
 * Files: the store only (the SQLite file, or the PostgreSQL database).
 */
import { Command } from 'commander';
import { loadConfig } from '../config/load.js';
import { homePaths } from '../home.js';
import { asCliError, existingHome } from './store-access.js';
import { printJson } from './lists-command.js';
import { createProgress } from './progress.js';

export function storeCommand(): Command {
  return new Command('store')
    .description('the list store: migrate its schema (PostgreSQL needs it), copy a site from SQLite to PostgreSQL')
    .addCommand(migrateCommand())
    .addCommand(copyCommand())
    .addHelpText('after', `
Examples:
  switchyard store migrate                  # the store [store] url (or path) names
  switchyard store copy --from sqlite:/var/lib/switchyard/switchyard.db --to postgres://switchyard@db.example.org/switchyard

Exit codes: 0 ok, 1 error (store unreachable, target not empty, counts differ), 2 bad arguments.`);
}

function migrateCommand(): Command {
  return new Command('migrate')
    .description("bring the store to this switchyard's schema (each migration in its own transaction; safe to run again, from any host)")
    .option('--json', 'print JSON')
    .action(async (options: { json?: boolean }, command: Command) => {
      const home = existingHome(command);
      try {
        const config = (await loadConfig(homePaths(home).config)).config;
        const { migrateHomeStore } = await import('../app/store-admin.js');
        const report = await migrateHomeStore(home, config);
        if (options.json) return printJson(report);
        if (report.applied.length === 0) return void process.stdout.write(`${report.location}: up to date (schema version ${report.to})\n`);
        for (const migration of report.applied) process.stdout.write(`applied ${migration.version}: ${migration.name}\n`);
        process.stdout.write(`${report.location}: schema version ${report.from} -> ${report.to}\n`);
      } catch (error) {
        throw asCliError(error, home);
      }
    });
}

function copyCommand(): Command {
  return new Command('copy')
    .description('copy every list, member, held post and record from an SQLite store into an empty PostgreSQL one (one transaction; row counts checked before commit)')
    .requiredOption('--from <url>', 'the source: sqlite:PATH (relative to the current directory)')
    .requiredOption('--to <url>', 'the target: postgres://user@host/database (migrated first)')
    .option('--force', 'replace what the target holds (it is emptied first, in the same transaction)')
    .option('--json', 'print JSON')
    .action(async (options: { from: string; to: string; force?: boolean; json?: boolean }) => {
      try {
        const { copyStore } = await import('../app/store-admin.js');
        const progress = createProgress('copying');
        let report;
        try {
          report = await copyStore({ from: options.from, to: options.to, cwd: process.cwd(), force: options.force === true, onProgress: (done, total) => progress.update(done, total) });
        } finally {
          progress.end();
        }
        if (options.json) return printJson(report);
        process.stdout.write(`copied ${report.rows} rows from ${report.from} to ${report.to}${report.replaced ? ' (its previous content replaced)' : ''}; counts equal:\n`);
        for (const [table, rows] of Object.entries(report.tables)) if (rows > 0) process.stdout.write(`  ${table} ${rows}\n`);
      } catch (error) {
        throw asCliError(error, process.cwd());
      }
    });
}
