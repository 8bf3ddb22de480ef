// A small typed event emitter (no Node or DOM dependency).
export class Emitter<Events> {
  private readonly handlers = new Map<keyof Events, Set<(payload: never) => void>>();

  on<E extends keyof Events>(event: E, handler: (payload: Events[E]) => void): () => void {
    let set = this.handlers.get(event);
    if (!set) {
      set = new Set();
      this.handlers.set(event, set);
    }
    set.add(handler as (payload: never) => void);
    return () => this.off(event, handler);
  }

  off<E extends keyof Events>(event: E, handler: (payload: Events[E]) => void): void {
    this.handlers.get(event)?.delete(handler as (payload: never) => void);
  }

  protected emit<E extends keyof Events>(event: E, payload: Events[E]): void {
    for (const handler of [...(this.handlers.get(event) ?? [])]) {
      (handler as (payload: Events[E]) => void)(payload);
    }
  }
}
