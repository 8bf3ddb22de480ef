// Prometheus metrics at /metrics: HTTP RED (rate, errors, duration) per route, database queries, process
// defaults, plus every registry a module adds (realtime sockets, fan-out latency, job queue depth).
import type { FastifyInstance } from 'fastify';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { Database } from '../db/database.js';

export class AppMetrics {
  readonly registry = new Registry();
  private readonly extra: Array<() => Registry | undefined> = [];
  readonly requests: Counter<'method' | 'route' | 'status'>;
  readonly duration: Histogram<'method' | 'route'>;

  constructor(database: Database) {
    collectDefaultMetrics({ register: this.registry, prefix: 'tma_' });
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
    new Gauge({
      name: 'tma_db_queries_total',
      help: 'Database queries run by this instance',
      registers: [this.registry],
      collect() {
        this.set(database.stats.queries);
      },
    });
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

  /** Another module's registry, merged into /metrics (looked up at scrape time). */
  include(registry: () => Registry | undefined): void {
    this.extra.push(registry);
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

export function registerMetrics(app: FastifyInstance, metrics: AppMetrics): void {
  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched';
    if (route === '/metrics') return;
    metrics.requests.inc({ method: request.method, route, status: String(reply.statusCode) });
    metrics.duration.observe({ method: request.method, route }, reply.elapsedTime / 1000);
  });
  app.get('/metrics', { config: { public: true }, schema: { hide: true } }, async (_request, reply) => {
    const { contentType, body } = await metrics.render();
    return reply.type(contentType).send(body);
  });
}
