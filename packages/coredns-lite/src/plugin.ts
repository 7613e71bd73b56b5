/**
 * The plugin contract, modelled on CoreDNS's `plugin.Handler`: every plugin
 * gets the request and the next handler, and either answers or calls `next`.
 * Handlers may answer synchronously (the hot path) or with a promise.
 */
import type { DnsIndex } from "./index/dns-index.js";
import type { MetricsRegistry } from "./plugins/metrics/registry.js";
import type { DnsResponse } from "./wire/message.js";

/** A question on its way through the chain. */
export interface DnsRequest {
  /** Question name in lower case, absolute (`svc1.testns.svc.cluster.local.`). */
  readonly name: string;
  /** The name as the client wrote it (case kept); equals `name` when not known. */
  readonly originalName: string;
  /** Question type code. */
  readonly type: number;
  /** Question class code (1 = IN). */
  readonly class: number;
  /** The EDNS DO bit. */
  readonly dnssecOk: boolean;
  /** How it arrived (`internal` for lookups a plugin makes through the chain). */
  readonly transport: "udp" | "tcp" | "internal";
  /** Client address (`ip:port`), when known. */
  readonly remote?: string | undefined;
}

/** The rest of the chain. */
export type Next = (req: DnsRequest) => DnsResponse | Promise<DnsResponse>;

/** What a handler may use besides `next`. */
export interface ChainContext {
  /** Resolve a name through the whole chain (CoreDNS's `upstream.Lookup`), e.g. an ExternalName target. */
  lookup(name: string, type: number): Promise<DnsResponse>;
}

/** One plugin in the request path. */
export interface Handler {
  /** Plugin name (for errors and metrics). */
  readonly name: string;
  /**
   * Set when the server may skip this handler for a query it answers from its
   * wire cache (a repeat of an earlier query's bytes, ID aside): the handler keeps
   * no per-query record (log line, metric, cache entry), reads neither the clock
   * nor the client address, and answers a question in one index generation with
   * the same response object each time, or with a fresh object when its answer
   * varies (as `loadbalance`'s shuffles): the server replays only answers the chain
   * returned as the same object twice. Unset, the wire cache is off for the chain.
   */
  readonly pure?: boolean;
  /** Answer `req`, or pass it on with `next(req)`. */
  serveDNS(req: DnsRequest, next: Next, ctx: ChainContext): DnsResponse | Promise<DnsResponse>;
}

/** A Corefile directive: `name arg arg { sub-directives }`. */
export interface Directive {
  /** The directive word. */
  readonly name: string;
  /** Its arguments on the same line. */
  readonly args: readonly string[];
  /** Lines of its `{ }` block, each as a directive. */
  readonly block: readonly Directive[];
  /** Line number in the config text (1-based), for messages. */
  readonly line: number;
}

/** Seconds-resolution clock, injectable for tests. */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
}

/** A random source in [0, 1), injectable and seedable. */
export type Random = () => number;

/** Shared services plugins receive at setup. */
export interface SetupEnv {
  /** The record index (for `kubernetes` and `ready`). */
  readonly index: DnsIndex;
  /** Clock for cache ageing and timing. */
  readonly clock: Clock;
  /** Random source for `loadbalance` and cache eviction. */
  readonly random: Random;
  /** Where `log` and `errors` write lines. */
  readonly logSink: (line: string) => void;
  /** Zones of the server block, lower case and absolute. */
  readonly zones: readonly string[];
  /** Every directive of the server block (plugins that cooperate, like autopath, read each other's). */
  readonly directives: readonly Directive[];
  /** Metric registry shared by `metrics` and the server. */
  readonly metrics: MetricsRegistry;
  /**
   * Report an error the server cannot run on (a forwarding loop): logged as `[FATAL]`,
   * then the server stops and its `onFatal` is called, as CoreDNS exits.
   */
  readonly fatal: (message: string) => void;
}

/** What a plugin sees of the running server when it starts. */
export interface ServerContext {
  /** The bound DNS address. */
  address(): { host: string; port: number };
  /**
   * Re-read the Corefile the server was started from and apply it if it changed
   * (`reload`); a Corefile that fails to load is logged and the running one kept.
   */
  reloadIfChanged(): Promise<void>;
}

/** A configured plugin: maybe a handler, maybe something to start (an HTTP listener). */
export interface PluginInstance {
  /** The handler, for plugins in the request path. */
  readonly handler?: Handler;
  /** Start listeners and background work once the server listens; resolves once bound. */
  start?(server: ServerContext): Promise<void>;
  /** Stop listeners. */
  stop?(): Promise<void>;
  /** Runs when the server is asked to stop, while it still answers (`health`'s lameduck). */
  shutdown?(): Promise<void>;
  /** An HTTP listener the plugin runs (`metrics`, `health`, `ready`), to read its bound address. */
  readonly endpoint?: { address(): { host: string; port: number } };
  /** `ready` plugins report here (the `ready` endpoint answers 200 when all are ready). */
  ready?(): boolean;
}

/** A plugin's setup: parses its directive and builds the instance. */
export interface Plugin {
  /** The directive name. */
  readonly name: string;
  /** Other directive names it answers to (`prometheus` for `metrics`). */
  readonly aliases?: readonly string[];
  /** Build the plugin from its directive. Throw `ConfigError` for bad configuration. */
  setup(directive: Directive, env: SetupEnv): PluginInstance;
}

/** A configuration mistake, with the line it is on. */
export class ConfigError extends Error {
  override readonly name = "ConfigError";
  /** Line number (1-based), 0 when unknown. */
  readonly line: number;

  constructor(message: string, line = 0) {
    super(line > 0 ? `line ${line}: ${message}` : message);
    this.line = line;
  }
}
