import {
  type EngineHookOptions,
  type EngineOptions,
  type EvaluateOptions,
  evaluationHooks,
  type ProxyConfig,
  type ProxyEngine,
  type ProxyEvaluation,
  type ProxyPacket,
  type ProxyState,
  type Random,
  type SyncOptions,
  type SyncResult,
  seededRandom,
} from "@knet/kube-proxy";
import type { Addr, HookRegistration, SocketHookRegistration } from "@knet/netstack";
import { type BatchOptions, renderFullBatch, renderIncrementalBatch } from "./batch.js";
import { dumpLbMaps } from "./dump.js";
import { SockLbEvaluator } from "./evaluator.js";
import type { LbAlgorithm, LbSettings } from "./frontends.js";
import { type LbMaps, LbReconciler } from "./lb-maps.js";
import { type MaglevConfig, maglevConfig } from "./maglev.js";
import { socketLbHooks } from "./socket-hooks.js";

/** Options of {@link EbpfEngine}: the shared engine options plus Cilium's LB flags. */
export interface EbpfEngineOptions extends EngineOptions {
  /** `--lb-algorithm` (Cilium `--bpf-lb-algorithm`), default random. */
  readonly algorithm?: LbAlgorithm;
  /** `--maglev-table-size`, default 16381. */
  readonly maglevTableSize?: number;
  /** `--maglev-hash-seed`, default Cilium's. */
  readonly maglevHashSeed?: string;
  /** `--lb-algorithm-annotation`: honour `service.cilium.io/lb-algorithm`. */
  readonly algorithmAnnotation?: boolean;
  /** Write the wildcard `addr:0/ANY` entries of newer Cilium releases. */
  readonly wildcardEntries?: boolean;
  /** Annotations of a Service (`namespace/name`), for the per-service annotations. */
  readonly annotations?: LbSettings["annotations"];
  /** Where the batch file expects the pinned maps. */
  readonly pinDir?: string;
}

/**
 * kube-proxy's job done as Cilium's kube-proxy replacement does it. A sync
 * turns the proxy state into LB map contents and writes them as a `bpftool
 * batch file` (full: every entry; incremental: only changed entries,
 * deletions last); `evaluate()` runs a packet through the same maps.
 */
export class EbpfEngine implements ProxyEngine {
  /** Mode name. */
  readonly mode = "ebpf";
  /** The node and proxy settings. */
  readonly config: ProxyConfig;
  /** Maglev parameters. */
  readonly maglev: MaglevConfig;
  /** Default backend selection. */
  readonly algorithm: LbAlgorithm;
  private readonly reconciler: LbReconciler;
  private readonly evaluator: SockLbEvaluator;
  private readonly random: Random;
  private readonly now: () => number;
  private readonly batch: BatchOptions;
  private needFull = true;
  private readonly reverse = new Map<string, { addr: Addr; port: number }>();

  /**
   * @throws RangeError for an unsupported Maglev table size or hash seed.
   */
  constructor(options: EbpfEngineOptions) {
    this.config = options.config;
    this.algorithm = options.algorithm ?? "random";
    if (this.algorithm !== "random" && this.algorithm !== "maglev")
      throw new RangeError(`invalid --lb-algorithm "${String(this.algorithm)}": use random or maglev`);
    this.maglev = maglevConfig({
      ...(options.maglevTableSize !== undefined ? { tableSize: options.maglevTableSize } : {}),
      ...(options.maglevHashSeed !== undefined ? { hashSeed: options.maglevHashSeed } : {}),
    });
    this.random = options.random ?? seededRandom(1);
    this.now = options.now ?? Date.now;
    this.batch = options.pinDir !== undefined ? { pinDir: options.pinDir } : {};
    this.reconciler = new LbReconciler(
      this.config,
      {
        algorithm: this.algorithm,
        algorithmAnnotation: options.algorithmAnnotation ?? false,
        wildcardEntries: options.wildcardEntries ?? false,
        annotations: options.annotations,
      },
      this.maglev,
    );
    this.evaluator = new SockLbEvaluator(this.reconciler.maps, this.reconciler.datapath, {
      config: this.config,
      maglev: this.maglev,
      defaultAlgorithm: this.algorithm,
    });
  }

  /** The LB maps after the last sync. */
  get maps(): LbMaps {
    return this.reconciler.maps;
  }

  /**
   * Bring the maps to `state`. The first sync (or one with `full`) renders
   * every entry; later ones only the entries that changed.
   * @throws Error when the state cannot be programmed (IDs exhausted); the next sync is then full.
   */
  sync(state: ProxyState, options: SyncOptions = {}): SyncResult {
    if (state.family !== this.config.family)
      throw new RangeError(`state is IPv${state.family} but the engine is IPv${this.config.family}`);
    const full = this.needFull || options.full === true;
    let changes: ReturnType<LbReconciler["sync"]>;
    try {
      changes = this.reconciler.sync(state, { full, track: !full });
    } catch (e) {
      this.needFull = true;
      throw e;
    }
    this.needFull = false;
    return {
      full,
      payload: full ? renderFullBatch(this.maps, this.batch) : renderIncrementalBatch(this.maps, changes, this.batch),
      servicePortsWritten: changes.portsWritten,
      servicePortsDeleted: changes.portsDeleted,
    };
  }

  /** The full-sync batch file for the current maps. */
  render(): string {
    return renderFullBatch(this.maps, this.batch);
  }

  /**
   * One artifact by name (the `artifacts` of `ebpfMode`): `batch`, the
   * full-sync batch file, or `maps`, the dump.
   * @throws RangeError for another name.
   */
  renderArtifact(name: string): string {
    if (name === "batch") return this.render();
    if (name === "maps") return this.renderMaps();
    throw new RangeError(`ebpf mode has no artifact "${name}": use batch or maps`);
  }

  /** The current maps in Cilium's dump format, one entry per line. */
  renderMaps(): string {
    const lines = dumpLbMaps(this.maps);
    return lines.length === 0 ? "" : `${lines.join("\n")}\n`;
  }

  /**
   * How a simulated node runs the maps per packet (Cilium's tc datapath on the
   * node's interfaces): netfilter-stage functions from `evaluationHooks`. With
   * {@link EbpfEngine.socketHooks} attached to the node's and its pods'
   * namespaces these meet only traffic from outside (NodePort, external IPs);
   * without them they translate every first packet, as Cilium does with the
   * socket LB off.
   */
  hooks(options?: EngineHookOptions): HookRegistration[] {
    return evaluationHooks(this, options);
  }

  /**
   * The socket-level program for a simulated network namespace (a pod's, or
   * the node's): `connect4`/`sendmsg4` translate a service frontend to a
   * backend through the maps (the socket path of {@link EbpfEngine.evaluate}),
   * `recvmsg4`/`getpeername4` show the frontend again. Register each with
   * `NetNamespace.registerSocketHook`. `options.observe` hears each
   * translation with its map lookups.
   */
  socketHooks(options?: EngineHookOptions): SocketHookRegistration[] {
    return socketLbHooks(this, this.reverse, options);
  }

  /** Run one packet through the maps. */
  evaluate(packet: ProxyPacket, options: EvaluateOptions = {}): ProxyEvaluation {
    return this.evaluator.evaluate(packet, {
      random: options.random ?? this.random,
      now: options.now ?? this.now(),
      ...(options.trace !== undefined ? { trace: options.trace } : {}),
    });
  }
}
