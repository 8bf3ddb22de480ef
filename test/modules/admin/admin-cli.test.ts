// npm run admin -- create <username> [--password-stdin] | promote <username>, on an embedded data directory.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runScript } from '../../helpers/processes.js';

describe('npm run admin', () => {
  it('creates an admin from a password on stdin, refuses a second create, promotes', async () => {
    const env = { DATA_DIR: mkdtempSync(join(tmpdir(), 'tma-admin-cli-')) };
    const created = await runScript(
      'src/modules/admin/cli.ts',
      ['create', 'boss', '--password-stdin'],
      env,
      'stdin-password-1\n',
    );
    expect(created.stderr).toBe('');
    expect(created.stdout).toContain('created boss');
    expect(created.stdout).not.toContain('password:');
    const again = await runScript('src/modules/admin/cli.ts', ['create', 'boss'], env);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('promote');
    const generated = await runScript('src/modules/admin/cli.ts', ['create', 'second'], env);
    expect(generated.stdout).toMatch(/password: \S{20,}/);
    const promote = await runScript('src/modules/admin/cli.ts', ['promote', 'boss'], env);
    expect(promote.stdout).toContain('already admin: boss');
    const usage = await runScript('src/modules/admin/cli.ts', ['create'], env);
    expect(usage.code).toBe(2);
  }, 120_000);
});
