// npm run admin -- create <username> [--password-stdin] | promote <username>, on an embedded data directory.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runScript } from '../../helpers/processes.js';

describe('npm run admin', () => {
  it('creates an admin from a password on stdin, refuses a second create, promotes, exports a user', async () => {
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
    const out = join(env.DATA_DIR, 'export-boss');
    const exported = await runScript('src/modules/admin/cli.ts', ['export-user', 'boss', out], env);
    expect(exported.stdout).toContain('exported 0 messages and 0 files');
    const data = JSON.parse(readFileSync(join(out, 'export.json'), 'utf8'));
    expect(data.user).toMatchObject({ username: 'boss', role: 'admin' });
    const usage = await runScript('src/modules/admin/cli.ts', ['create'], env);
    expect(usage.code).toBe(2);
  }, 120_000);
});
