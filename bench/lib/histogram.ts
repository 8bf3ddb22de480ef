// A small HDR-style latency histogram: log-linear buckets (< 1% error), mergeable across worker processes.

/** Sub-buckets per power of two: values below SUB are exact, above it the relative error is < 1/64. */
const SUB = 128;
const HALF = SUB / 2;
const BITS = 7; // log2(SUB)
/** Values are whole microseconds, clamped to 2^31 - 1 (about 35 minutes). */
const MAX_VALUE = 2 ** 31 - 1;
const BUCKETS = SUB + (31 - BITS + 1) * HALF;

function indexOf(value: number): number {
  const v = Math.min(MAX_VALUE, Math.max(0, Math.round(value)));
  if (v < SUB) return v;
  const shift = 31 - Math.clz32(v) - (BITS - 1); // v >> shift lies in [HALF, SUB)
  return SUB + (shift - 1) * HALF + ((v >> shift) - HALF);
}

/** The middle of the bucket's value range. */
function bucketValue(index: number): number {
  if (index < SUB) return index;
  const shift = Math.floor((index - SUB) / HALF) + 1;
  const mantissa = ((index - SUB) % HALF) + HALF;
  return mantissa * 2 ** shift + (2 ** shift - 1) / 2;
}

export interface HistogramSnapshot {
  /** [bucket index, count] pairs of the non-empty buckets. */
  buckets: Array<[number, number]>;
  count: number;
  min: number;
  max: number;
  sum: number;
}

export interface LatencySummary {
  count: number;
  min_ms: number;
  mean_ms: number;
  p50_ms: number;
  p90_ms: number;
  p95_ms: number;
  p99_ms: number;
  p999_ms: number;
  max_ms: number;
}

export class Histogram {
  private counts = new Float64Array(BUCKETS);
  count = 0;
  min = Number.POSITIVE_INFINITY;
  max = 0;
  sum = 0;

  /** Records one value in microseconds. */
  record(micros: number): void {
    const v = Math.max(0, micros);
    this.counts[indexOf(v)] += 1;
    this.count += 1;
    this.sum += v;
    if (v < this.min) this.min = v;
    if (v > this.max) this.max = v;
  }

  /** The value (microseconds) at or below which `p` percent of the recorded values lie. */
  percentile(p: number): number {
    if (this.count === 0) return 0;
    if (p >= 100) return this.max;
    const rank = Math.max(1, Math.ceil((p / 100) * this.count));
    let seen = 0;
    for (let i = 0; i < BUCKETS; i++) {
      seen += this.counts[i] as number;
      if (seen >= rank) return Math.min(this.max, Math.max(this.min, bucketValue(i)));
    }
    return this.max;
  }

  merge(other: Histogram | HistogramSnapshot): this {
    const snap = other instanceof Histogram ? other.snapshot() : other;
    for (const [i, c] of snap.buckets) this.counts[i] += c;
    this.count += snap.count;
    this.sum += snap.sum;
    if (snap.count > 0) {
      this.min = Math.min(this.min, snap.min);
      this.max = Math.max(this.max, snap.max);
    }
    return this;
  }

  snapshot(): HistogramSnapshot {
    const buckets: Array<[number, number]> = [];
    for (let i = 0; i < BUCKETS; i++) if (this.counts[i]) buckets.push([i, this.counts[i] as number]);
    return { buckets, count: this.count, min: this.count ? this.min : 0, max: this.max, sum: this.sum };
  }

  static from(snapshot: HistogramSnapshot): Histogram {
    return new Histogram().merge(snapshot);
  }

  /** Milliseconds, rounded to microseconds. */
  summary(): LatencySummary {
    const ms = (us: number) => Math.round(us) / 1000;
    return {
      count: this.count,
      min_ms: ms(this.count ? this.min : 0),
      mean_ms: ms(this.count ? this.sum / this.count : 0),
      p50_ms: ms(this.percentile(50)),
      p90_ms: ms(this.percentile(90)),
      p95_ms: ms(this.percentile(95)),
      p99_ms: ms(this.percentile(99)),
      p999_ms: ms(this.percentile(99.9)),
      max_ms: ms(this.max),
    };
  }
}

/** Exact percentile of a list (nearest-rank), for small samples and for checking the histogram. */
export function exactPercentile(values: readonly number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[Math.min(sorted.length, rank) - 1] as number;
}

export function median(values: readonly number[]): number {
  return exactPercentile(values, 50);
}
