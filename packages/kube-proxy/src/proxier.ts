import type { EndpointSlice, Service } from "@knet/k8s";
import type { Clock } from "@knet/netstack";
import type { ChangeTracker } from "./change-tracker.js";
import type { ProxyEngine, SyncResult } from "./engine.js";

/** Time (netstack's `Clock`, ms) and timers, injected so the sync loop runs on a fake clock in tests. */
export interface Timers extends Clock {
  /** Call `fn` after `ms` milliseconds; returns a handle for {@link Timers.clearTimeout}. */
  setTimeout(fn: () => void, ms: number): unknown;
  /** Cancel a timer. */
  clearTimeout(handle: unknown): void;
}

/** The real clock (`Date.now`, `setTimeout`). */
export const systemClock: Timers = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
};

/** Options of {@link Proxier}. */
export interface ProxierOptions {
  /** The engine to sync. */
  readonly engine: ProxyEngine;
  /** Where Service/EndpointSlice events are recorded. */
  readonly tracker: ChangeTracker;
  /** Clock (default {@link systemClock}). */
  readonly clock?: Timers;
  /** Minimum time between syncs, ms (default: the engine config's `minSyncPeriodMs`). */
  readonly minSyncPeriodMs?: number;
  /** Periodic sync interval, ms (default: the engine config's `syncPeriodMs`). */
  readonly syncPeriodMs?: number;
  /** Syncs allowed back to back before `minSyncPeriodMs` applies (kube-proxy: 2). */
  readonly burst?: number;
  /** Called after each successful sync. */
  readonly onSync?: (result: SyncResult) => void;
  /** Called when a sync throws; the next sync is full and is retried after `syncPeriodMs`. */
  readonly onError?: (error: unknown) => void;
}

/**
 * kube-proxy's sync loop: events go to the change tracker and request a sync;
 * requests are coalesced and rate-limited like kube-proxy's
 * BoundedFrequencyRunner (a token bucket of `burst` runs refilled one per
 * `minSyncPeriodMs`), with a periodic sync every `syncPeriodMs`. Nothing is
 * synced until both Services and EndpointSlices have been reported synced.
 */
export class Proxier {
  private readonly engine: ProxyEngine;
  private readonly tracker: ChangeTracker;
  private readonly clock: Timers;
  private readonly minMs: number;
  private readonly maxMs: number;
  private readonly burst: number;
  private readonly onSync: ((r: SyncResult) => void) | undefined;
  private readonly onError: ((e: unknown) => void) | undefined;
  private tokens: number;
  private lastRefill: number;
  private timer: unknown;
  private timerAt = Number.POSITIVE_INFINITY;
  private servicesSynced = false;
  private slicesSynced = false;
  private needFull = true;
  private stopped = false;
  /** Number of syncs run so far. */
  syncCount = 0;

  constructor(options: ProxierOptions) {
    this.engine = options.engine;
    this.tracker = options.tracker;
    this.clock = options.clock ?? systemClock;
    this.minMs = options.minSyncPeriodMs ?? options.engine.config.minSyncPeriodMs;
    this.maxMs = options.syncPeriodMs ?? options.engine.config.syncPeriodMs;
    this.burst = Math.max(1, options.burst ?? 2);
    this.onSync = options.onSync;
    this.onError = options.onError;
    this.tokens = this.burst;
    this.lastRefill = this.clock.now();
  }

  /** A Service was added or changed. */
  onServiceUpdate(svc: Service): void {
    this.tracker.updateService(svc);
    this.requestSync();
  }

  /** A Service was deleted. */
  onServiceDelete(namespace: string, name: string): void {
    this.tracker.deleteService(namespace, name);
    this.requestSync();
  }

  /** An EndpointSlice was added or changed. */
  onEndpointSliceUpdate(slice: EndpointSlice): void {
    this.tracker.updateEndpointSlice(slice);
    this.requestSync();
  }

  /** An EndpointSlice was deleted. */
  onEndpointSliceDelete(namespace: string, name: string): void {
    this.tracker.deleteEndpointSlice(namespace, name);
    this.requestSync();
  }

  /** The initial list of Services has been delivered. */
  onServicesSynced(): void {
    this.servicesSynced = true;
    if (this.slicesSynced) this.runNow();
  }

  /** The initial list of EndpointSlices has been delivered. */
  onEndpointSlicesSynced(): void {
    this.slicesSynced = true;
    if (this.servicesSynced) this.runNow();
  }

  private refill(now: number): void {
    if (this.minMs <= 0) {
      this.tokens = this.burst;
      this.lastRefill = now;
      return;
    }
    const gained = Math.floor((now - this.lastRefill) / this.minMs);
    if (gained > 0) {
      this.tokens = Math.min(this.burst, this.tokens + gained);
      this.lastRefill = this.tokens === this.burst ? now : this.lastRefill + gained * this.minMs;
    }
  }

  private schedule(at: number): void {
    if (this.stopped || at >= this.timerAt) return;
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timerAt = at;
    this.timer = this.clock.setTimeout(
      () => {
        this.timer = undefined;
        this.timerAt = Number.POSITIVE_INFINITY;
        this.requestSync();
      },
      Math.max(0, at - this.clock.now()),
    );
  }

  /** Ask for a sync: runs now if the rate limit allows, otherwise once when it does (coalesced). */
  requestSync(): void {
    if (this.stopped || !this.servicesSynced || !this.slicesSynced) return;
    const now = this.clock.now();
    this.refill(now);
    if (this.tokens >= 1) {
      this.tokens--;
      this.run();
    } else {
      this.schedule(this.lastRefill + this.minMs);
    }
  }

  private runNow(): void {
    this.refill(this.clock.now());
    this.tokens = Math.max(0, this.tokens - 1);
    this.run();
  }

  private run(): void {
    if (this.timer !== undefined) {
      this.clock.clearTimeout(this.timer);
      this.timer = undefined;
      this.timerAt = Number.POSITIVE_INFINITY;
    }
    try {
      const state = this.tracker.state();
      const result = this.engine.sync(state, { full: this.needFull });
      this.needFull = false;
      this.syncCount++;
      this.onSync?.(result);
      this.schedule(this.clock.now() + this.maxMs);
    } catch (e) {
      this.needFull = true;
      this.onError?.(e);
      this.schedule(this.clock.now() + this.maxMs);
    }
  }

  /** Stop timers; later requests are ignored. */
  stop(): void {
    this.stopped = true;
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }
}
