// Spans for work that is not an HTTP request (socket events, jobs) and trace ids for log lines. Uses only
// @opentelemetry/api: without a started SDK (src/tracing.ts) every call is a no-op.
import { type Attributes, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';

const tracer = trace.getTracer('tma-server');

/** Runs `work` inside a span named `name` (made the active span, so database and Redis spans nest under it). */
export function withSpan<T>(
  name: string,
  attributes: Attributes,
  work: () => Promise<T>,
  kind: SpanKind = SpanKind.INTERNAL,
): Promise<T> {
  return tracer.startActiveSpan(name, { kind, attributes }, async (span) => {
    try {
      return await work();
    } catch (err) {
      span.recordException(err as Error);
      span.setStatus({ code: SpanStatusCode.ERROR });
      throw err;
    } finally {
      span.end();
    }
  });
}

export { SpanKind };

/** The active span's ids for a log line (pino mixin); empty outside any span. */
export function traceFields(): { trace_id?: string; span_id?: string } {
  const span = trace.getActiveSpan();
  if (!span) return {};
  const { traceId, spanId } = span.spanContext();
  return { trace_id: traceId, span_id: spanId };
}

/** Exports spans still buffered (at shutdown); nothing without an SDK. A collector outage never fails shutdown. */
export async function flushTracing(): Promise<void> {
  const provider = trace.getTracerProvider() as { getDelegate?: () => { forceFlush?: () => Promise<void> } };
  try {
    await provider.getDelegate?.().forceFlush?.();
  } catch {
    // spans that could not be exported are dropped
  }
}
