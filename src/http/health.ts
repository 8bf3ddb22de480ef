// Liveness and readiness: /health answers while the process runs; /health/ready checks each dependency.
import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { Envelope } from './envelope.js';

export type CheckStatus = 'up' | 'down';
/** critical: a failure makes the instance unready (503); degraded: it still serves, with less. */
export type CheckImpact = 'critical' | 'degraded';

interface Check {
  impact: CheckImpact;
  run: () => Promise<void>;
}

const CHECK_TIMEOUT_MS = 2000;

export class HealthRegistry {
  private readonly checks = new Map<string, Check>();

  register(name: string, impact: CheckImpact, run: () => Promise<void>): void {
    this.checks.set(name, { impact, run });
  }

  async evaluate() {
    const results: Record<
      string,
      { status: CheckStatus; impact: CheckImpact; latency_ms: number; error?: string }
    > = {};
    await Promise.all(
      [...this.checks].map(async ([name, check]) => {
        const started = performance.now();
        let timer: NodeJS.Timeout | undefined;
        try {
          await Promise.race([
            check.run(),
            new Promise((_, reject) => {
              timer = setTimeout(() => reject(new Error('timed out')), CHECK_TIMEOUT_MS);
            }),
          ]);
          results[name] = {
            status: 'up',
            impact: check.impact,
            latency_ms: Math.round(performance.now() - started),
          };
        } catch (error) {
          results[name] = {
            status: 'down',
            impact: check.impact,
            latency_ms: Math.round(performance.now() - started),
            error: error instanceof Error ? error.message : 'unavailable',
          };
        } finally {
          clearTimeout(timer);
        }
      }),
    );
    const down = Object.values(results).filter((r) => r.status === 'down');
    const status = down.some((r) => r.impact === 'critical') ? 'down' : down.length > 0 ? 'degraded' : 'ok';
    return { status, checks: results } as const;
  }
}

const CheckResult = Type.Object({
  status: Type.Union([Type.Literal('up'), Type.Literal('down')]),
  impact: Type.Union([Type.Literal('critical'), Type.Literal('degraded')]),
  latency_ms: Type.Integer(),
  error: Type.Optional(Type.String()),
});
const Readiness = Type.Object({
  status: Type.Union([Type.Literal('ok'), Type.Literal('degraded'), Type.Literal('down')]),
  checks: Type.Record(Type.String(), CheckResult),
});

export function registerHealthRoutes(app: FastifyInstance, registry: HealthRegistry, version: string): void {
  const started = Date.now();
  app.get(
    '/health',
    {
      config: { public: true },
      schema: {
        tags: ['health'],
        operationId: 'getHealth',
        summary: 'Liveness: the process is up',
        description:
          'Answers 200 while the process serves requests; no dependency is checked. For liveness probes; not rate limited.',
        response: {
          200: Envelope(
            Type.Object({ status: Type.Literal('ok'), version: Type.String(), uptime_s: Type.Integer() }),
          ),
        },
      },
    },
    async () => ({
      success: true as const,
      data: { status: 'ok' as const, version, uptime_s: Math.floor((Date.now() - started) / 1000) },
      error: null,
    }),
  );

  app.get(
    '/health/ready',
    {
      config: { public: true },
      schema: {
        tags: ['health'],
        operationId: 'getReadiness',
        summary: 'Readiness: database, Redis and TMS when configured',
        description:
          '200 when every dependency answers, or when only TMS is down (cached profiles are served: status degraded). ' +
          '503 when the database is down (status down) or Redis is down (status degraded: local delivery only).',
        response: {
          200: Envelope(Readiness),
          503: Type.Object({
            success: Type.Literal(false),
            data: Readiness,
            error: Type.Object({ code: Type.String(), message: Type.String() }),
          }),
        },
      },
    },
    async (_request, reply) => {
      const result = await registry.evaluate();
      const failing = Object.entries(result.checks).filter(([, c]) => c.status === 'down');
      const unready = failing.some(([name, c]) => c.impact === 'critical' || name === 'redis');
      if (unready) {
        return reply.status(503).send({
          success: false,
          data: result,
          error: {
            code: 'dependency_unavailable',
            message: `Unavailable: ${failing.map(([name]) => name).join(', ')}`,
          },
        });
      }
      return { success: true as const, data: result, error: null };
    },
  );
}
