// OpenTelemetry, only when OTEL_EXPORTER_OTLP_ENDPOINT is set: the Node SDK with HTTP, Fastify (@fastify/otel),
// pg and ioredis instrumentation, exporting spans over OTLP/HTTP (JSON) to `<endpoint>/v1/traces`. Socket events
// and jobs get spans of their own (src/platform/tracing.ts); log lines carry trace_id and span_id.
// Standard OTEL_* variables (OTEL_SERVICE_NAME, OTEL_BSP_SCHEDULE_DELAY, OTEL_TRACES_SAMPLER...) apply.
import { loadConfig } from './config.js';

let started = false;

export async function startTracingIfConfigured(): Promise<boolean> {
  let endpoint: string | undefined;
  try {
    endpoint = loadConfig().otlpEndpoint;
  } catch {
    return false; // the server reports configuration problems itself
  }
  if (!endpoint || started) return false;
  started = true;
  // ESM imports of CommonJS packages (pg, ioredis) are patched through import-in-the-middle's loader hook.
  const { register } = await import('node:module');
  register('@opentelemetry/instrumentation/hook.mjs', import.meta.url);

  const [
    { NodeSDK },
    { OTLPTraceExporter },
    { HttpInstrumentation },
    { PgInstrumentation },
    { IORedisInstrumentation },
    fastifyOtel,
  ] = await Promise.all([
    import('@opentelemetry/sdk-node'),
    import('@opentelemetry/exporter-trace-otlp-http'),
    import('@opentelemetry/instrumentation-http'),
    import('@opentelemetry/instrumentation-pg'),
    import('@opentelemetry/instrumentation-ioredis'),
    import('@fastify/otel'),
  ]);
  const sdk = new NodeSDK({
    serviceName: process.env.OTEL_SERVICE_NAME ?? 'tma-server',
    traceExporter: new OTLPTraceExporter({ url: `${endpoint.replace(/\/+$/, '')}/v1/traces` }),
    instrumentations: [
      new HttpInstrumentation(),
      new fastifyOtel.FastifyOtelInstrumentation({ registerOnInitialization: true }),
      new PgInstrumentation({ requireParentSpan: true }),
      new IORedisInstrumentation({ requireParentSpan: true }),
    ],
  });
  sdk.start();
  return true;
}
