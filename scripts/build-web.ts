// `tsx scripts/build-web.ts [--if-stale]`: builds the web client (web/ -> web/dist) with Vite. With --if-stale
// (what `npm start` runs first, and the tests' global setup) it builds only when web/dist is missing or older than a
// source file of web/ or sdk/, so a fresh clone serves the client after `npm install && npm start`.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '..');
const WEB = join(ROOT, 'web');
const INDEX = join(WEB, 'dist', 'index.html');
const SOURCES = [
  join(WEB, 'src'),
  join(WEB, 'index.html'),
  join(WEB, 'vite.config.ts'),
  join(ROOT, 'sdk', 'src'),
];

function newest(path: string): number {
  if (!existsSync(path)) return 0;
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  return Math.max(0, ...readdirSync(path).map((name) => newest(join(path, name))));
}

export function webBuildIsStale(): boolean {
  if (!existsSync(INDEX)) return true;
  return Math.max(...SOURCES.map(newest)) > statSync(INDEX).mtimeMs;
}

export async function buildWeb(options: { ifStale?: boolean; quiet?: boolean } = {}): Promise<boolean> {
  if (options.ifStale && !webBuildIsStale()) return false;
  let vite: typeof import('vite');
  try {
    vite = await import('vite');
  } catch {
    // A production install without devDependencies: serve a build made elsewhere, or none.
    console.warn('[web] vite is not installed (npm install without --omit=dev); the web client is not built');
    return false;
  }
  await vite.build({
    configFile: join(WEB, 'vite.config.ts'),
    root: WEB,
    logLevel: options.quiet ? 'warn' : 'info',
  });
  return true;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  buildWeb({ ifStale: process.argv.includes('--if-stale') }).then(
    (built) => {
      if (!built && process.argv.includes('--if-stale')) console.log('[web] web/dist is up to date');
      process.exit(0);
    },
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
}
