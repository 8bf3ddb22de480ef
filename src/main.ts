// Process entry. Tracing (OTEL_EXPORTER_OTLP_ENDPOINT) must patch http, pg and ioredis before they are first
// imported, so it starts first and the server is imported afterwards; without the variable nothing of the
// OpenTelemetry SDK is loaded.
import { startTracingIfConfigured } from './tracing.js';

await startTracingIfConfigured();
await import('./server.js');
