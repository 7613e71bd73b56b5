/** A small Prometheus registry: counters, gauges and histograms rendered as text format 0.0.4. */

/** One metric family as the registry renders it. */
export interface MetricFamily {
  /** Metric name. */
  readonly name: string;
  /** The `# HELP` text. */
  readonly help: string;
  /** The `# TYPE`. */
  readonly type: "counter" | "gauge" | "histogram";
  /** The sample lines. */
  render(): string;
}

/** Label set rendered once: `{a="x",b="y"}` (or `""` for none). */
export function labels(set: Readonly<Record<string, string>>): string {
  const parts = Object.entries(set).map(
    ([k, v]) => `${k}="${v.replaceAll("\\", "\\\\").replaceAll('"', '\\"').replaceAll("\n", "\\n")}"`,
  );
  return parts.length === 0 ? "" : `{${parts.join(",")}}`;
}

/** A counter family keyed by rendered label sets. */
export class Counter implements MetricFamily {
  readonly type = "counter";
  readonly name: string;
  readonly help: string;
  private readonly values = new Map<string, number>();

  constructor(name: string, help: string) {
    this.name = name;
    this.help = help;
  }

  /** Add `n` (default 1) to the series with rendered labels `l`. */
  inc(l = "", n = 1): void {
    this.values.set(l, (this.values.get(l) ?? 0) + n);
  }

  /** Current value of a series. */
  get(l = ""): number {
    return this.values.get(l) ?? 0;
  }

  render(): string {
    let s = "";
    for (const [l, v] of this.values) s += `${this.name}${l} ${v}\n`;
    return s;
  }
}

/** A gauge read from a function at scrape time. */
export class Gauge implements MetricFamily {
  readonly type = "gauge";
  readonly name: string;
  readonly help: string;
  private readonly read: () => number;

  constructor(name: string, help: string, read: () => number) {
    this.name = name;
    this.help = help;
    this.read = read;
  }

  render(): string {
    return `${this.name} ${this.read()}\n`;
  }
}

/** A histogram with fixed upper bounds. */
export class Histogram implements MetricFamily {
  readonly type = "histogram";
  readonly name: string;
  readonly help: string;
  private readonly bounds: readonly number[];
  private readonly series = new Map<string, { counts: number[]; sum: number; count: number }>();

  constructor(name: string, help: string, bounds: readonly number[]) {
    this.name = name;
    this.help = help;
    this.bounds = bounds;
  }

  /** Record one observation. */
  observe(l: string, v: number): void {
    let s = this.series.get(l);
    if (s === undefined) {
      s = { counts: this.bounds.map(() => 0), sum: 0, count: 0 };
      this.series.set(l, s);
    }
    for (let i = 0; i < this.bounds.length; i++) if (v <= (this.bounds[i] as number)) (s.counts[i] as number)++;
    s.sum += v;
    s.count++;
  }

  render(): string {
    let out = "";
    for (const [l, s] of this.series) {
      const inner = l === "" ? "" : `${l.slice(1, -1)},`;
      this.bounds.forEach((b, i) => {
        out += `${this.name}_bucket{${inner}le="${b}"} ${s.counts[i]}\n`;
      });
      out += `${this.name}_bucket{${inner}le="+Inf"} ${s.count}\n`;
      out += `${this.name}_sum${l} ${s.sum}\n${this.name}_count${l} ${s.count}\n`;
    }
    return out;
  }
}

/** The registry shared by the server and its plugins. */
export class MetricsRegistry {
  private readonly families = new Map<string, MetricFamily>();

  private add<F extends MetricFamily>(f: F): F {
    const old = this.families.get(f.name);
    if (old !== undefined) return old as F;
    this.families.set(f.name, f);
    return f;
  }

  /** Get or create a counter. */
  counter(name: string, help: string): Counter {
    return this.add(new Counter(name, help));
  }

  /** Register a gauge read at scrape time. */
  gauge(name: string, help: string, read: () => number): Gauge {
    return this.add(new Gauge(name, help, read));
  }

  /** Get or create a histogram. */
  histogram(name: string, help: string, bounds: readonly number[]): Histogram {
    return this.add(new Histogram(name, help, bounds));
  }

  /** Prometheus text exposition of every family. */
  render(): string {
    let out = "";
    for (const f of this.families.values()) {
      out += `# HELP ${f.name} ${f.help}\n# TYPE ${f.name} ${f.type}\n${f.render()}`;
    }
    return out;
  }
}
