import {
  diffProxyState,
  type EngineHookOptions,
  type EngineOptions,
  type EvaluateOptions,
  evaluationHooks,
  type ProxyConfig,
  type ProxyEngine,
  ProxyEngineError,
  type ProxyEvaluation,
  type ProxyOutcome,
  type ProxyPacket,
  type ProxyState,
  type ServicePort,
  type SyncOptions,
  type SyncResult,
  seededRandom,
  settleDecisive,
} from "@knet/kube-proxy";
import type { HookRegistration } from "@knet/netstack";
import { renderBootstrap } from "./bootstrap.js";
import { type IpsetLookup, IptablesEvaluator, type IptablesVerdict } from "./evaluator.js";
import { iptablesChainHooks } from "./hooks.js";
import { type IptablesOptions, newRenderCache, type RenderCache, renderRestore } from "./render.js";
import { Ruleset } from "./ruleset.js";

/** Options of {@link IptablesEngine}. */
export interface IptablesEngineOptions extends EngineOptions, Omit<IptablesOptions, "config"> {
  /** ipset lookup for rulesets that use `-m set`. */
  readonly ipsets?: IpsetLookup;
  /**
   * Keep a simulated node ruleset that loads every payload (default true).
   * `false` gives a render-only engine (no memory held per sync; `evaluate` throws).
   */
  readonly simulate?: boolean;
}

/**
 * kube-proxy's iptables mode. `sync()` renders the iptables-restore input a
 * real kube-proxy would write (full the first time, when asked or after a
 * failure; partial otherwise, KEP-3453); the simulated node's ruleset (started
 * with kube-proxy's bootstrap: canaries and jump rules) loads each payload
 * with iptables-restore semantics, and `evaluate()` walks it like the kernel.
 */
export class IptablesEngine implements ProxyEngine {
  /** `iptables`. */
  readonly mode = "iptables";
  /** Node and proxy configuration. */
  readonly config: ProxyConfig;
  /** iptables-mode options. */
  readonly options: IptablesOptions;
  private readonly rules = new Ruleset();
  private readonly evaluator: IptablesEvaluator;
  private readonly cache: RenderCache = newRenderCache();
  private current: ProxyState | undefined;
  private existingNat = new Set<string>();
  private needFull = true;
  private pending: string[] = [];
  private readonly simulate: boolean;

  constructor(options: IptablesEngineOptions) {
    this.config = options.config;
    const { config, random: _r, now: _n, ipsets: _i, simulate, ...rest } = options;
    this.simulate = simulate !== false;
    this.options = { config, ...rest };
    this.rules.restore(renderBootstrap(config));
    this.evaluator = new IptablesEvaluator(this.rules, {
      localAddresses: config.nodeIPs,
      random: options.random ?? seededRandom(1),
      now: options.now ?? Date.now,
      ...(options.ipsets ? { ipsets: options.ipsets } : {}),
    });
  }

  /**
   * Sync to `state`. A full sync rewrites every chain; a partial one rewrites
   * the fixed chains and only the chains of services whose Service or
   * EndpointSlices changed, deleting stale chains.
   * @throws ProxyModelError-style errors from rendering; the engine keeps its previous rules and the next sync is full.
   */
  sync(state: ProxyState, options: SyncOptions = {}): SyncResult {
    const full = options.full === true || this.needFull || this.current === undefined;
    let changedServices: Set<string> | undefined;
    let removedKeys: readonly string[] = [];
    let deletedPorts = 0;
    if (!full) {
      const prev = this.current as ProxyState;
      const ch = state.changes;
      if (
        ch !== undefined &&
        state.lineage !== undefined &&
        prev.lineage === state.lineage &&
        prev.generation === ch.since
      ) {
        // the tracker says what changed: O(changes), no full diff
        changedServices = new Set(ch.services);
        removedKeys = ch.removedPorts;
      } else {
        const d = diffProxyState(prev, state);
        changedServices = new Set();
        for (const k of d.added) changedServices.add((state.servicePorts.get(k) as ServicePort).serviceKey);
        for (const k of d.changed) changedServices.add((state.servicePorts.get(k) as ServicePort).serviceKey);
        for (const k of d.removed) changedServices.add((prev.servicePorts.get(k) as ServicePort).serviceKey);
        removedKeys = d.removed;
      }
      deletedPorts = removedKeys.length;
    }
    let result: ReturnType<typeof renderRestore>;
    try {
      result = renderRestore(this.options, {
        state,
        ...(changedServices ? { changedServices, removedKeys } : {}),
        existingNatChains: this.existingNat,
        cache: this.cache,
      });
    } catch (e) {
      this.needFull = true;
      throw e;
    }
    if (this.simulate) this.pending.push(result.payload);
    if (full) this.existingNat = new Set(result.writtenChains);
    else {
      for (const c of result.deletedChains) this.existingNat.delete(c);
      for (const c of result.writtenChains) this.existingNat.add(c);
    }
    this.current = state;
    this.needFull = false;
    return {
      full,
      payload: result.payload,
      servicePortsWritten: result.servicePortsWritten,
      servicePortsDeleted: full ? 0 : deletedPorts,
    };
  }

  /** The complete iptables-restore input for the current state (what a full sync writes, without stale-chain deletions). */
  render(): string {
    if (!this.current) throw new ProxyEngineError("iptables", "render() before the first sync");
    return renderRestore(this.options, { state: this.current, cache: newRenderCache() }).payload;
  }

  /** The bootstrap kube-proxy applies at startup (canary chains and jump rules into the built-in chains). */
  renderBootstrap(): string {
    return renderBootstrap(this.config);
  }

  /** The simulated node's ruleset after every payload so far (bootstrap included). */
  ruleset(): Ruleset {
    this.load();
    return this.rules;
  }

  private load(): void {
    if (!this.simulate)
      throw new ProxyEngineError("iptables", "this IptablesEngine was created with simulate: false (render only)");
    while (this.pending.length > 0) {
      const payload = this.pending.shift() as string;
      try {
        this.rules.restore(payload);
      } catch (e) {
        this.needFull = true;
        this.pending = [];
        throw e;
      }
    }
  }

  /** The evaluator over the simulated node's ruleset (for raw verdicts). */
  iptablesEvaluator(): IptablesEvaluator {
    this.load();
    return this.evaluator;
  }

  /**
   * The engine's attachment to a simulated node (the {@link ProxyEngine}
   * contract): `evaluate()` at dstnat per new connection, masquerade at srcnat.
   */
  hooks(options: EngineHookOptions = {}): HookRegistration[] {
    return evaluationHooks(this, options);
  }

  /**
   * Netfilter hook registrations for `@knet/netstack` that walk the ruleset
   * itself, chain by chain (for rulesets beyond kube-proxy's): one per table and
   * built-in chain, at the kernel's priorities (raw -300, mangle -150, nat
   * dstnat -100 / srcnat 100 as `type: "nat"`, filter 0), each walking that
   * chain of the simulated node's ruleset. Register them into a namespace's
   * `hooks` to make the simulated node forward through kube-proxy's rules.
   */
  netfilterHooks(): HookRegistration[] {
    return iptablesChainHooks(() => this.iptablesEvaluator(), {
      family: this.config.family,
      owner: "kube-proxy iptables",
    });
  }

  /** Run a packet through the current rules with the raw iptables verdict. */
  evaluateRaw(packet: ProxyPacket, options: EvaluateOptions = {}): IptablesVerdict {
    this.load();
    return this.evaluator.evaluate(
      {
        src: packet.src,
        dst: packet.dst,
        protocol: packet.protocol ?? "tcp",
        sport: packet.sport ?? 40000,
        dport: packet.dport,
        ...(packet.origin ? { origin: packet.origin } : {}),
        ...(packet.inInterface ? { inInterface: packet.inInterface } : {}),
      },
      {
        ...(options.trace !== undefined ? { trace: options.trace } : {}),
        ...(options.random ? { random: options.random } : {}),
        ...(options.now !== undefined ? { now: options.now } : {}),
      },
    );
  }

  /** Run a packet through the current rules: the engine-independent outcome and the rules visited. */
  evaluate(packet: ProxyPacket, options: EvaluateOptions = {}): ProxyEvaluation {
    const v = this.evaluateRaw(packet, options);
    let outcome: ProxyOutcome;
    if (v.verdict === "drop") outcome = { kind: "drop", reason: v.reason ?? "dropped" };
    else if (v.verdict === "reject") outcome = { kind: "reject", reason: v.reason ?? "rejected" };
    else if (v.dnat)
      outcome = {
        kind: "dnat",
        backend: { ip: v.dnat.addr.toString(), port: v.dnat.port },
        masquerade: v.snat !== undefined,
      };
    else outcome = { kind: "accept", masquerade: v.snat !== undefined };
    return { outcome, trace: options.trace === false ? v.trace : settleDecisive(v.trace, outcome) };
  }
}
