/**
 * The layering between folders (test/architecture/imports.ts RULES): every
 * import statement of queues/, runners/ and src/ keeps the rules, the master
 * process loads neither the list store nor the application layer, and a
 * broken rule is reported naming the file, the line and the import.
 * `node dist/test/architecture/imports.js` prints the folder graph.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { allImports, folderGraph, formatViolation, loadedBy, violations } from './imports.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
let scratch: string | undefined;

afterEach(async () => {
  if (scratch !== undefined) await rm(scratch, { recursive: true, force: true });
  scratch = undefined;
});

async function tree(files: Record<string, string>): Promise<string> {
  scratch = await mkdtemp(join(tmpdir(), 'sy-layering-'));
  for (const top of ['queues', 'runners', 'src']) await mkdir(join(scratch, top), { recursive: true });
  for (const [file, text] of Object.entries(files)) {
    await mkdir(dirname(join(scratch, file)), { recursive: true });
    await writeFile(join(scratch, file), text);
  }
  return scratch;
}

describe('layering', () => {
  it('every import of queues/, runners/ and src/ keeps the layering rules', () => {
    const imports = allImports(ROOT);
    expect(imports.length).toBeGreaterThan(500);
    expect(violations(imports).map(formatViolation)).toEqual([]);
  });

  it('the master process loads neither the list store nor the application layer (nor do the processes it forks before loading a runner)', () => {
    const imports = allImports(ROOT);
    for (const start of ['src/master/master.ts', 'src/master/supervisor.ts', 'src/master/runner-process.ts', 'src/master/status-server.ts']) {
      const loaded = [...loadedBy(imports, start)].filter((file) => file.startsWith('src/store/') || file.startsWith('src/app/'));
      expect(loaded, start).toEqual([]);
    }
  });

  it('queues/ and src/store import no other layer above them; src/master none of store and app', () => {
    const graph = folderGraph(allImports(ROOT));
    expect(graph.get('queues') ?? []).toEqual([]);
    expect((graph.get('src/store') ?? []).filter((to) => ['runners', 'src/app', 'src/cli'].includes(to))).toEqual([]);
    expect((graph.get('src/master') ?? []).filter((to) => ['src/store', 'src/app'].includes(to))).toEqual([]);
  });

  it('a broken rule is reported with the file, the line and the import; type-only and allowed imports are not', async () => {
    const root = await tree({
      'queues/spool.ts': "import { x } from '../runners/queue-names.js';\n",
      'src/mail/routing.ts': "import type { Store } from '../store/index.js';\n\nimport { lookupList } from '../app/list-lookup.js';\n",
      'src/app/moderation.ts': "import { VIRGIN_QUEUE } from '../../runners/queue-names.js';\nimport { rejectNotice } from '../../runners/incoming/notices.js';\n",
      'src/master/master.ts': "export { openStore } from '../store/index.js';\n",
      'src/cli/held-command.ts': "import { openStore, type Store, parseAddress, StoreError } from '../store/index.js';\n",
      'src/cli/store-access.ts': "import { openStore, storeOptions } from '../store/index.js';\n",
      'src/store/index.ts': "const later = () => import('../cli/main.js');\n",
    });
    const found = violations(allImports(root)).map(formatViolation);
    expect(found).toHaveLength(6);
    expect(found).toContain("queues/spool.ts:1 imports '../runners/queue-names.js': queues/ is the switchboard and knows nothing of mail: it imports nothing from src/ or runners/");
    expect(found).toContain("src/mail/routing.ts:3 imports '../app/list-lookup.js': src/mail is message handling below every use case: it imports nothing from src/app, runners/ or src/cli");
    expect(found.filter((line) => line.startsWith('src/app/moderation.ts'))).toEqual([expect.stringMatching(/^src\/app\/moderation\.ts:2 imports '\.\.\/\.\.\/runners\/incoming\/notices\.js': src\/app is the use cases/)]);
    expect(found).toContain("src/master/master.ts:1 imports '../store/index.js': src/master supervises and never opens the store: it imports nothing from src/store or src/app");
    expect(found).toContainEqual(expect.stringMatching(/^src\/cli\/held-command\.ts:1 imports '\.\.\/store\/index\.js': src\/cli changes the store only through src\/app.*; not openStore$/));
    expect(found).toContainEqual(expect.stringMatching(/^src\/store\/index\.ts:1 imports '\.\.\/cli\/main\.js': src\/store is the list store/));
  });
});
