// `npm run bench -- <scenario...|all> [--quick] [--baseline] [--mode embedded|production|both] ...` (bench/README.md).
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { createContext, type Options, type ScenarioContext, type ScenarioResult } from './lib/context.js';
import { machineInfo } from './lib/proc.js';
import { markdownSummary, type RunRecord, rampSvg, ratios, writeRecord, writeText } from './lib/report.js';
import { buildServer, type Mode, ROOT, startBaseline, startTma, type Target } from './lib/server.js';
import { LoadGenerator } from './lib/workers.js';
import { bigroom } from './scenarios/bigroom.js';
import { calls } from './scenarios/calls.js';
import { channels, channelsServerEnv, stopChannelSimulators } from './scenarios/channels.js';
import { dm } from './scenarios/dm.js';
import { fanout } from './scenarios/fanout.js';
import { files } from './scenarios/files.js';
import { http } from './scenarios/http.js';
import { idle } from './scenarios/idle.js';
import { push, pushServerEnv, stopPushStandIn } from './scenarios/push.js';
import { ramp } from './scenarios/ramp.js';
import { restart } from './scenarios/restart.js';

interface Scenario {
  run(ctx: ScenarioContext, gen: LoadGenerator): Promise<ScenarioResult>;
  /** Whether the bare relay can run the same load. */
  baseline: boolean;
}

const SCENARIOS: Record<string, Scenario> = {
  idle: { run: idle, baseline: true },
  fanout: { run: fanout, baseline: true },
  ramp: { run: ramp, baseline: true },
  dm: { run: dm, baseline: true },
  bigroom: { run: bigroom, baseline: true },
  http: { run: (ctx) => http(ctx), baseline: false },
  files: { run: (ctx) => files(ctx), baseline: false },
  channels: { run: (ctx) => channels(ctx), baseline: false },
  calls: { run: (ctx) => calls(ctx), baseline: false },
  push: { run: (ctx) => push(ctx), baseline: false },
  // Kills and restarts the server, so it runs last.
  restart: { run: restart, baseline: false },
};

const USAGE = `usage: npm run bench -- <${[...Object.keys(SCENARIOS), 'search'].join('|')}|all>... [options]
  --quick                 small sizes, each scenario under a minute
  --baseline              also run the load against a bare Socket.IO relay and report TMA/relay ratios
  --mode M                embedded (default), production (DATABASE_URL/REDIS_URL), or both
  --instances N           production mode: start N instances (restart kills one of them)
  --workers N             load-generator processes (default 2)
  --url URL [--pid PID]   measure a running server instead of starting one
  --database-url URL      PostgreSQL server to create the bench database on (default postgres://postgres@127.0.0.1:5432/postgres)
  --redis-url URL         Redis for production mode (default redis://127.0.0.1:6379)
  --profile               write a V8 CPU profile of each server instance to bench/results/profiles
  --env NAME=value        extra server environment (repeatable), e.g. --env DATABASE_POOL_SIZE=20
  --build                 run \`npm run build\` once (in --server-root if given) and start \`node dist/main.js\` instead of tsx
  --server-root DIR       start the server from DIR (e.g. a clean \`git archive\` export with node_modules linked)
  --server-log FILE       append the server's output to FILE (with --env SLOW_QUERY_MS=0: every query)
  --set name=value        override a scenario parameter (groups, size, interval, duration, sockets, users, members, ...)`;

function parseOptions(argv: string[]): Options & { modes: Mode[] } {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      quick: { type: 'boolean', default: false },
      baseline: { type: 'boolean', default: false },
      mode: { type: 'string', default: 'embedded' },
      instances: { type: 'string', default: '1' },
      workers: { type: 'string', default: '2' },
      url: { type: 'string' },
      pid: { type: 'string' },
      'database-url': { type: 'string', default: 'postgres://postgres@127.0.0.1:5432/postgres' },
      'redis-url': { type: 'string', default: 'redis://127.0.0.1:6379' },
      profile: { type: 'boolean', default: false },
      set: { type: 'string', multiple: true, default: [] },
      env: { type: 'string', multiple: true, default: [] },
      'server-log': { type: 'string' },
      'server-root': { type: 'string' },
      build: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help || positionals.length === 0) {
    console.log(USAGE);
    process.exit(values.help ? 0 : 2);
  }
  const names = positionals.includes('all')
    ? [...Object.keys(SCENARIOS), ...(hasSearch() ? ['search'] : [])]
    : positionals;
  for (const n of names) {
    if (!SCENARIOS[n] && n !== 'search') {
      console.error(`unknown scenario "${n}"\n${USAGE}`);
      process.exit(2);
    }
  }
  const params: Record<string, number> = {};
  for (const kv of values.set ?? []) {
    const [k, v] = kv.split('=');
    if (!k || v === undefined || !Number.isFinite(Number(v))) {
      console.error(`--set expects name=number, got "${kv}"`);
      process.exit(2);
    }
    params[k] = Number(v);
  }
  const serverEnv: Record<string, string> = {};
  for (const kv of values.env ?? []) {
    const at = kv.indexOf('=');
    if (at <= 0) {
      console.error(`--env expects NAME=value, got "${kv}"`);
      process.exit(2);
    }
    serverEnv[kv.slice(0, at)] = kv.slice(at + 1);
  }
  const modes: Mode[] = values.mode === 'both' ? ['embedded', 'production'] : [values.mode as Mode];
  if (!modes.every((m) => m === 'embedded' || m === 'production')) {
    console.error(`--mode must be embedded, production or both\n${USAGE}`);
    process.exit(2);
  }
  return {
    scenarios: names,
    modes,
    quick: values.quick ?? false,
    baseline: values.baseline ?? false,
    mode: modes[0] as Mode,
    instances: Number(values.instances),
    workers: Math.max(1, Number(values.workers)),
    url: values.url,
    pid: values.pid ? Number(values.pid) : undefined,
    databaseUrl: values['database-url'] as string,
    redisUrl: values['redis-url'] as string,
    profile: values.profile ?? false,
    params,
    serverEnv,
    serverLog: values['server-log'] ? resolve(values['server-log']) : undefined,
    serverRoot: values['server-root'] ? resolve(values['server-root']) : undefined,
    build: values.build ?? false,
    resultsDir: resolve(ROOT, 'bench/results'),
    tag: `${Date.now().toString(36)}`,
  };
}

function hasSearch(): boolean {
  return existsSync(resolve(ROOT, 'bench/search.ts'));
}

/** bench/search.ts (owned by the search module) seeds its own PostgreSQL database and runs an in-process app. */
async function searchScenario(): Promise<Scenario> {
  const path = resolve(ROOT, 'bench/search.ts');
  const mod = (await import(path)) as {
    scenario?: { run(argv: string[]): Promise<Record<string, unknown>> };
  };
  const entry = mod.scenario;
  if (!entry) throw new Error('bench/search.ts does not export scenario.run(argv)');
  return {
    baseline: false,
    async run(ctx): Promise<ScenarioResult> {
      if (ctx.options.mode !== 'production') {
        return {
          parameters: {},
          figures: { skipped: 'PostgreSQL only' },
          headline: { skipped: 'PostgreSQL only' },
        };
      }
      process.env.DATABASE_URL ??= ctx.options.databaseUrl;
      const figures = await entry.run(ctx.options.quick ? ['--quick'] : []);
      const pick = (k: string) => (typeof figures[k] === 'number' ? (figures[k] as number) : 'n/a');
      return {
        parameters: {
          messages: figures.messages,
          queries: figures.queries,
          concurrency: figures.concurrency,
        },
        figures,
        headline: {
          messages: pick('messages'),
          'p50 ms': pick('p50_ms'),
          'p95 ms': pick('p95_ms'),
          'p99 ms': pick('p99_ms'),
          'req/s': pick('throughput_rps'),
        },
      };
    },
  };
}

async function runOne(scenario: Scenario, ctx: ScenarioContext, workers: number): Promise<ScenarioResult> {
  const gen = LoadGenerator.start(workers);
  try {
    return await scenario.run(ctx, gen);
  } finally {
    await gen.close();
  }
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  // channels: the provider simulators must be up before the server, which reads CHANNEL_PROVIDERS at start.
  if (options.scenarios.includes('channels') && !options.url) {
    options.serverEnv = { ...(await channelsServerEnv()), ...options.serverEnv };
  }
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '');
  const machine = machineInfo();
  const records: RunRecord[] = [];
  let relay: Target | undefined;
  const relayContext = async () => {
    relay ??= await startBaseline();
    active.add(relay);
    return createContext({ ...options, mode: options.mode }, relay);
  };
  let relayCtx: ScenarioContext | undefined;
  if (options.build && !options.url) {
    const root = options.serverRoot ?? ROOT;
    console.error(`[bench] npm run build in ${root}`);
    console.error(`[bench] built in ${((await buildServer(root)) / 1000).toFixed(1)} s`);
  }
  try {
    for (const mode of options.modes) {
      const opts: Options = { ...options, mode, tag: `${options.tag}${mode[0]}` };
      // push: the FCM stand-in must be up before the server, which reads FCM_* at start.
      const pushEnv = options.scenarios.includes('push') && !options.url ? await pushServerEnv() : {};
      const target = await startTma({
        mode,
        instances: options.instances,
        url: options.url,
        pid: options.pid,
        databaseUrl: options.databaseUrl,
        redisUrl: options.redisUrl,
        cpuProfileDir: options.profile ? resolve(options.resultsDir, 'profiles') : undefined,
        env: { ...pushEnv, ...options.serverEnv },
        logFile: options.serverLog,
        serverRoot: options.serverRoot,
        entry: options.build ? 'dist' : 'tsx',
        tag: opts.tag,
      });
      active.add(target);
      const ctx = createContext(opts, target);
      const modeName = options.url
        ? 'external'
        : options.instances > 1 && mode === 'production'
          ? `${mode}x${options.instances}`
          : mode;
      try {
        for (const name of options.scenarios) {
          const scenario = name === 'search' ? await searchScenario() : (SCENARIOS[name] as Scenario);
          const started = new Date().toISOString();
          ctx.log(`${name} (${modeName}) against ${target.description}`);
          const record: RunRecord = {
            scenario: name,
            mode: modeName,
            started_at: started,
            finished_at: started,
            machine,
            target: target.description,
            options: {
              quick: opts.quick,
              workers: opts.workers,
              instances: opts.instances,
              build: opts.build,
              params: opts.params,
            },
            parameters: {},
            figures: {},
            headline: {},
          };
          try {
            const result = await runOne(scenario, ctx, opts.workers);
            Object.assign(record, {
              parameters: result.parameters,
              figures: result.figures,
              headline: result.headline,
            });
            if (options.baseline && scenario.baseline) {
              relayCtx ??= await relayContext();
              ctx.log(`${name} against the bare relay`);
              const base = await runOne(scenario, relayCtx, opts.workers);
              record.baseline = { target: relay?.description ?? 'relay', ...base };
              record.ratio_to_baseline = ratios(result.headline, base.headline);
              if (result.series && base.series) {
                writeSvg(options, name, modeName, stamp, result.series, base.series);
              }
            } else if (result.series) {
              writeSvg(options, name, modeName, stamp, result.series);
            }
          } catch (error) {
            record.error = error instanceof Error ? error.message : String(error);
            ctx.log(`${name} failed: ${record.error}`);
          }
          record.finished_at = new Date().toISOString();
          const file = writeRecord(options.resultsDir, record, stamp);
          ctx.log(`wrote ${file}`);
          records.push(record);
        }
      } finally {
        await target.stop();
        active.delete(target);
      }
    }
  } finally {
    await relay?.stop();
    await stopPushStandIn();
  }
  const summary = `# Bench ${stamp} (${machine.cpus} CPUs, ${machine.memory_gb} GB, Node ${machine.node}, load ${machine.load_average_at_start.join(' ')})\n\n${markdownSummary(records)}`;
  console.log(summary);
  writeText(options.resultsDir, `summary-${stamp}.md`, summary);
  await stopChannelSimulators();
  process.exitCode = records.some((r) => r.error) ? 1 : 0;
}

function writeSvg(
  options: Options,
  scenario: string,
  mode: string,
  stamp: string,
  tma: NonNullable<ScenarioResult['series']>,
  relay?: NonNullable<ScenarioResult['series']>,
): void {
  const series = [{ name: `TMA ${mode}`, points: tma }, ...(relay ? [{ name: 'relay', points: relay }] : [])];
  const file = writeText(
    options.resultsDir,
    `${scenario}-${mode}-${stamp}.svg`,
    rampSvg(`${scenario}: latency vs load (${mode})`, series),
  );
  console.error(`[bench] wrote ${file}`);
}

/** Targets that are up, so an interrupted run still stops them (and drops its database). */
const active = new Set<Target>();
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    const stopping = Promise.allSettled([...active].map((t) => t.stop()));
    const timeout = new Promise((r) => setTimeout(r, 10_000));
    // Exiting also runs the exit hook that kills every process the bench started.
    void Promise.race([stopping, timeout]).finally(() => process.exit(130));
  });
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
