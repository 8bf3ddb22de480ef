// The in-process domain event bus: services publish after commit, subscribers (realtime, jobs) react.
import type { Logger } from 'pino';
import type { DomainEventMap } from './domain-events.js';

export type DomainEventName = keyof DomainEventMap;
type Handler<K extends DomainEventName> = (payload: DomainEventMap[K]) => void | Promise<void>;

export class EventBus {
  private readonly handlers = new Map<DomainEventName, Set<Handler<DomainEventName>>>();

  constructor(private readonly logger: Logger) {}

  subscribe<K extends DomainEventName>(name: K, handler: Handler<K>): () => void {
    let set = this.handlers.get(name);
    if (!set) {
      set = new Set();
      this.handlers.set(name, set);
    }
    set.add(handler as Handler<DomainEventName>);
    return () => set.delete(handler as Handler<DomainEventName>);
  }

  /** Synchronous dispatch; a failing subscriber is logged and never breaks the publisher. */
  publish<K extends DomainEventName>(name: K, payload: DomainEventMap[K]): void {
    const set = this.handlers.get(name);
    if (!set) return;
    for (const handler of set) {
      try {
        const result = handler(payload);
        if (result instanceof Promise) {
          result.catch((err: unknown) =>
            this.logger.error({ err, event: name }, 'domain event subscriber failed'),
          );
        }
      } catch (err) {
        this.logger.error({ err, event: name }, 'domain event subscriber failed');
      }
    }
  }
}
