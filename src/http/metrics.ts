// Prometheus metrics at /metrics: HTTP RED (rate, errors, duration) per route, database queries, process
// defaults, plus every registry a module adds (realtime sockets, fan-out latency, job queue depth).
// Optionally behind a bearer token (METRICS_TOKEN) and/or on a port of its own (METRICS_PORT).
import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { Config } from '../config.js';
import type { Database } from '../db/database.js';
import { UnauthenticatedError } from '../errors.js';

const LINT_REJECTED_DEFAULTS = [
  'nodejs_active_handles_total',
  'nodejs_active_requests_total',
  'nodejs_active_resources_total',
];

export class AppMetrics {
  readonly registry = new Registry();
  private readonly extra: Array<() => Registry | undefined> = [];
  readonly requests: Counter<'method' | 'route' | 'status'>;
  readonly duration: Histogram<'method' | 'route'>;
  /** The METRICS_PORT listener, once the app is ready. */
  server: Server | undefined;

  constructor(database: Database) {
    // Standard names (process_*, nodejs_*), so stock Node.js dashboards work unchanged; less the three
    // gauges named like counters (nodejs_active_{handles,requests,resources}_total), which Prometheus
    // linting rejects: sum the per-type gauges of the same name without _total instead.
    collectDefaultMetrics({ register: this.registry });
    for (const name of LINT_REJECTED_DEFAULTS) this.registry.removeSingleMetric(name);
    this.requests = new Counter({
      name: 'tma_http_requests_total',
      help: 'HTTP requests by method, route and status',
      labelNames: ['method', 'route', 'status'],
      registers: [this.registry],
    });
    this.duration = new Histogram({
      name: 'tma_http_request_duration_seconds',
      help: 'HTTP request latency by method and route',
      labelNames: ['method', 'route'],
      buckets: [0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [this.registry],
    });
    this.counter(
      'tma_db_queries_total',
      'Database queries run by this instance',
      () => database.stats.queries,
    );
  }

  /** A figure another module keeps itself, read at scrape time. */
  gauge(name: string, help: string, read: () => number): void {
    new Gauge({
      name,
      help,
      registers: [this.registry],
      collect() {
        this.set(read());
      },
    });
  }

  /** A running total another module keeps itself (it only grows), read at scrape time; name ends in _total. */
  counter(name: string, help: string, read: () => number): void {
    new Counter({
      name,
      help,
      registers: [this.registry],
      collect() {
        this.reset();
        this.inc(read());
      },
    });
  }

  /** Another module's registry, merged into /metrics (looked up at scrape time). */
  include(registry: () => Registry | undefined): void {
    this.extra.push(registry);
  }

  /** The port /metrics listens on when METRICS_PORT is set (the bound one when it is 0). */
  port(): number | undefined {
    return (this.server?.address() as AddressInfo | null)?.port;
  }

  async render(): Promise<{ contentType: string; body: string }> {
    const registries = [
      this.registry,
      ...this.extra.map((r) => r()).filter((r): r is Registry => r !== undefined),
    ];
    const merged = Registry.merge(registries);
    return { contentType: merged.contentType, body: await merged.metrics() };
  }
}

const digest = (value: string): Buffer => createHash('sha256').update(value).digest();

/** Checks `Authorization: Bearer <token>` in constant time; true when no token is configured. */
function authorized(header: string | undefined, token: string | undefined): boolean {
  if (token === undefined) return true;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
  return match !== null && timingSafeEqual(digest(match[1] as string), digest(token));
}

const REFUSED = JSON.stringify({
  success: false,
  data: null,
  error: { code: 'unauthenticated', message: 'A valid metrics token is required' },
});

/** The METRICS_PORT listener: GET /metrics only, nothing of the API. */
function metricsServer(metrics: AppMetrics, token: string | undefined): Server {
  const send = (res: ServerResponse, status: number, type: string, body: string) => {
    res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body) }).end(body);
  };
  return createServer((req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? '').split('?')[0];
    if (path !== '/metrics' || (req.method !== 'GET' && req.method !== 'HEAD')) {
      send(res, 404, 'text/plain', 'Not found');
      return;
    }
    if (!authorized(req.headers.authorization, token)) {
      res.setHeader('www-authenticate', 'Bearer');
      send(res, 401, 'application/json', REFUSED);
      return;
    }
    metrics.render().then(
      ({ contentType, body }) => send(res, 200, contentType, body),
      () => send(res, 500, 'text/plain', 'metrics unavailable'),
    );
  });
}

export function registerMetrics(app: FastifyInstance, metrics: AppMetrics, config: Config): void {
  const { token, port } = config.metrics;
  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched';
    if (route === '/metrics') return;
    metrics.requests.inc({ method: request.method, route, status: String(reply.statusCode) });
    metrics.duration.observe({ method: request.method, route }, reply.elapsedTime / 1000);
  });

  if (port !== undefined) {
    // Started with the app (ready() or listen()), closed with it.
    app.addHook('onReady', async () => {
      const server = metricsServer(metrics, token);
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, config.host, () => {
          server.off('error', reject);
          resolve();
        });
      });
      metrics.server = server;
    });
    app.addHook('onClose', async () => {
      const server = metrics.server;
      metrics.server = undefined;
      server?.closeAllConnections();
      if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
    });
    return;
  }

  app.get('/metrics', { config: { public: true }, schema: { hide: true } }, async (request, reply) => {
    if (!authorized(request.headers.authorization, token)) {
      reply.header('www-authenticate', 'Bearer');
      throw new UnauthenticatedError('unauthenticated', 'A valid metrics token is required');
    }
    const { contentType, body } = await metrics.render();
    return reply.type(contentType).send(body);
  });
}
