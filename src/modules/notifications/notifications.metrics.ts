// Notification metrics (prom-client): deliveries per channel (web_push, fcm, email, in_app) and outcome.
import { Counter, Registry } from 'prom-client';

export type Channel = 'web_push' | 'fcm' | 'email' | 'in_app';
export type Outcome = 'sent' | 'gone' | 'retry' | 'failed' | 'skipped';

export class NotificationMetrics {
  readonly registry = new Registry();
  readonly deliveries: Counter<'channel' | 'outcome'>;

  constructor() {
    this.deliveries = new Counter({
      name: 'tma_notification_deliveries_total',
      help: 'Notification deliveries by channel and outcome (gone: the device was deleted; retry: tried again later)',
      labelNames: ['channel', 'outcome'],
      registers: [this.registry],
    });
  }

  count(channel: Channel, outcome: Outcome): void {
    this.deliveries.inc({ channel, outcome });
  }
}
