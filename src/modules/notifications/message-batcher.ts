// Gathers message ids for a moment (or up to a batch size) and hands them over together: one
// notification job per batch instead of one per message.
export class MessageBatcher {
  private ids: string[] = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly maxSize: number,
    private readonly delayMs: number,
    private readonly deliver: (ids: string[]) => Promise<void>,
  ) {}

  add(id: string): void {
    this.ids.push(id);
    if (this.ids.length >= this.maxSize) void this.flush();
    else this.timer ??= setTimeout(() => void this.flush(), this.delayMs);
  }

  /** Hands over what is gathered now (at close, too). */
  async flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.ids.length === 0) return;
    const ids = this.ids;
    this.ids = [];
    await this.deliver(ids);
  }
}
