// Sends through the providers of a channel in priority order: per provider a timeout, retries with exponential
// backoff and full jitter (429 waits its Retry-After), and a circuit breaker (cockatiel); a provider that fails
// or whose circuit is open hands the message to the next one. State and counts go to /metrics.
import {
  BrokenCircuitError,
  type CircuitBreakerPolicy,
  CircuitState,
  ConsecutiveBreaker,
  circuitBreaker,
  handleWhen,
  TaskCancelledError,
  TimeoutStrategy,
  timeout,
  wrap,
} from 'cockatiel';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { ChannelKind } from '../../../db/schema.js';
import type { ChannelProvider, OutboundMessage, SendResult } from './provider.js';
import { ProviderError } from './provider.js';
import type { ProviderConfig } from './provider-config.js';
import { SendGridProvider } from './sendgrid.js';
import { SmtpProvider } from './smtp.js';
import { TwilioProvider } from './twilio.js';

const MAX_DELAY_MS = 10_000;
const STATE_VALUE: Record<CircuitState, number> = {
  [CircuitState.Closed]: 0,
  [CircuitState.Open]: 1,
  [CircuitState.HalfOpen]: 2,
  [CircuitState.Isolated]: 1,
};

/** One try of one provider, as recorded in channel_message_events. */
export interface AttemptRecord {
  provider: string;
  attempt: number;
  outcome: 'ok' | 'error' | 'circuit_open';
  error?: string;
  kind?: ProviderError['kind'];
  /** The request may have reached the provider: the next try is a retry after an uncertain outcome. */
  uncertain?: boolean;
}

export class ChannelMetrics {
  readonly registry = new Registry();
  readonly requests = new Counter({
    name: 'tma_channel_provider_requests_total',
    help: 'Provider send requests by provider and outcome (ok, transient, provider, permanent, circuit_open)',
    labelNames: ['provider', 'outcome'],
    registers: [this.registry],
  });
  readonly duration = new Histogram({
    name: 'tma_channel_provider_request_duration_seconds',
    help: 'Provider send request latency by provider',
    labelNames: ['provider'],
    buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });
  readonly failovers = new Counter({
    name: 'tma_channel_failovers_total',
    help: 'Sends handed to a later provider of the channel because an earlier one failed or was open',
    labelNames: ['channel'],
    registers: [this.registry],
  });
  readonly transitions = new Counter({
    name: 'tma_channel_message_status_total',
    help: 'Channel message status changes by channel, direction and new status',
    labelNames: ['channel', 'direction', 'status'],
    registers: [this.registry],
  });
  readonly webhooks = new Counter({
    name: 'tma_channel_webhooks_total',
    help: 'Provider webhooks received by source and outcome',
    labelNames: ['source', 'outcome'],
    registers: [this.registry],
  });

  watchCircuits(circuits: Map<string, CircuitBreakerPolicy>): void {
    new Gauge({
      name: 'tma_channel_provider_circuit_state',
      help: 'Circuit breaker state per provider: 0 closed, 1 open, 2 half-open',
      labelNames: ['provider'],
      registers: [this.registry],
      collect() {
        for (const [provider, breaker] of circuits) this.set({ provider }, STATE_VALUE[breaker.state]);
      },
    });
  }
}

export function createProvider(config: ProviderConfig): ChannelProvider {
  if (config.kind === 'twilio') return new TwilioProvider(config);
  if (config.kind === 'sendgrid') return new SendGridProvider(config);
  return new SmtpProvider(config);
}

export class AllProvidersFailedError extends Error {
  constructor(
    readonly permanent: boolean,
    message: string,
    readonly uncertain: boolean,
  ) {
    super(message);
    this.name = 'AllProvidersFailedError';
  }
}

export type Sleep = (ms: number) => Promise<void>;
const realSleep: Sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

export class ProviderRouter {
  readonly circuits = new Map<string, CircuitBreakerPolicy>();
  private readonly policies = new Map<string, ReturnType<typeof wrap>>();

  constructor(
    readonly providers: ChannelProvider[],
    readonly metrics: ChannelMetrics,
    private readonly sleep: Sleep = realSleep,
  ) {
    for (const provider of providers) {
      const { name, breakerThreshold, halfOpenAfterMs, timeoutMs } = provider.config;
      // Only the provider's own troubles open its circuit; a refused message says nothing about its health.
      const breaker = circuitBreaker(
        handleWhen((error) => !(error instanceof ProviderError) || error.kind !== 'permanent'),
        { halfOpenAfter: halfOpenAfterMs, breaker: new ConsecutiveBreaker(breakerThreshold) },
      );
      this.circuits.set(name, breaker);
      this.policies.set(name, wrap(breaker, timeout(timeoutMs, TimeoutStrategy.Aggressive)));
    }
    metrics.watchCircuits(this.circuits);
  }

  /** The providers of a channel, in priority order. */
  forChannel(channel: ChannelKind): ChannelProvider[] {
    return this.providers.filter((p) => p.config.channels.includes(channel));
  }

  find(name: string): ChannelProvider | undefined {
    return this.providers.find((p) => p.config.name === name);
  }

  /**
   * Sends once through the first provider that takes it. Throws AllProvidersFailedError (permanent when the
   * message itself was refused) after every provider failed or was open.
   */
  async send(
    message: OutboundMessage,
    onAttempt: (record: AttemptRecord) => Promise<void> | void = () => undefined,
  ): Promise<{ provider: string; result: SendResult }> {
    const candidates = this.forChannel(message.channel);
    if (candidates.length === 0) {
      throw new AllProvidersFailedError(true, `no provider is configured for ${message.channel}`, false);
    }
    let lastError = 'no provider answered';
    let uncertain = false;
    for (const [index, provider] of candidates.entries()) {
      if (index > 0) this.metrics.failovers.inc({ channel: message.channel });
      const { name, retries, retryBaseMs } = provider.config;
      const policy = this.policies.get(name) as ReturnType<typeof wrap>;
      for (let attempt = 0; attempt <= retries; attempt++) {
        const started = performance.now();
        try {
          const result = (await policy.execute(({ signal }) => provider.send(message, signal))) as SendResult;
          this.metrics.duration.observe({ provider: name }, (performance.now() - started) / 1000);
          this.metrics.requests.inc({ provider: name, outcome: 'ok' });
          await onAttempt({ provider: name, attempt, outcome: 'ok', uncertain });
          return { provider: name, result };
        } catch (raw) {
          if (raw instanceof BrokenCircuitError) {
            this.metrics.requests.inc({ provider: name, outcome: 'circuit_open' });
            await onAttempt({ provider: name, attempt, outcome: 'circuit_open' });
            lastError = `${name}: circuit open`;
            break;
          }
          this.metrics.duration.observe({ provider: name }, (performance.now() - started) / 1000);
          const error =
            raw instanceof ProviderError
              ? raw
              : raw instanceof TaskCancelledError
                ? new ProviderError('transient', `${name}: timed out after ${provider.config.timeoutMs} ms`, {
                    uncertain: true,
                    code: 'timeout',
                  })
                : new ProviderError('transient', `${name}: ${(raw as Error).message ?? String(raw)}`, {
                    uncertain: true,
                  });
          this.metrics.requests.inc({ provider: name, outcome: error.kind });
          uncertain ||= error.details.uncertain === true;
          lastError = error.message;
          await onAttempt({
            provider: name,
            attempt,
            outcome: 'error',
            error: error.message,
            kind: error.kind,
            uncertain: error.details.uncertain,
          });
          if (error.kind === 'permanent') throw new AllProvidersFailedError(true, error.message, uncertain);
          if (error.kind === 'provider' || attempt === retries) break;
          const backoff = Math.random() * Math.min(MAX_DELAY_MS, retryBaseMs * 2 ** attempt);
          await this.sleep(Math.min(MAX_DELAY_MS, Math.max(backoff, error.details.retryAfterMs ?? 0)));
        }
      }
    }
    throw new AllProvidersFailedError(false, lastError, uncertain);
  }

  async close(): Promise<void> {
    for (const provider of this.providers) await provider.close?.();
  }
}
