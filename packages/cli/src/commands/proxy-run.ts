/**
 * `knet proxy run`: a node agent standing in for kube-proxy. It follows a live
 * API server (`--kubeconfig`) or a manifest directory (`-f DIR --watch`) and
 * applies what the engine writes to this host's kernel, with kube-proxy's sync
 * loop, health and metrics (see ./proxy-agent.ts). `--cleanup` removes every
 * mode's rules and exits, as `kube-proxy --cleanup`.
 */

import type { Server } from "node:http";
import { hostname } from "node:os";
import { ClusterSource, ClusterState, DirectorySource, loadKubeconfig, type Node } from "@knet/k8s";
import {
  type KubeProxyConfiguration,
  kubeProxyEngineOptions,
  kubeProxyProxyConfigInput,
  type ProxyConfig,
  proxyConfig,
} from "@knet/kube-proxy";
import { IptablesEngine } from "@knet/kube-proxy-iptables";
import { NftablesEngine } from "@knet/kube-proxy-nftables";
import { Addr, AddrError } from "@knet/netstack";
import { CliError, ExitCode, type Io, parseFlags } from "../cli.js";
import { readKubeProxyConfigFile } from "../kube-proxy-config-file.js";
import {
  cleanupHost,
  hostExec,
  IptablesApplier,
  type KernelApplier,
  NftablesApplier,
  NodeAgent,
  parseBindAddress,
  serveHttp,
} from "./proxy-agent.js";

/** The usage of `knet proxy run` (shown by `knet proxy --help`). */
export const PROXY_RUN_USAGE = `
  run     --mode iptables|nftables (--kubeconfig PATH [--context NAME] | -f DIR [--watch]) [flags]
          a node agent, as kube-proxy: follow the cluster and apply each sync to this
          host's kernel (iptables-restore --noflush / nft -f), partial syncs on change
          rate-limited by the min sync period, a sync every sync period (a full one
          hourly, and after a failed apply), /healthz and /livez, /metrics
  run     --cleanup
          remove every mode's rules from this host (iptables jumps and KUBE-* chains,
          nftables kube-proxy tables) and exit, as kube-proxy --cleanup
  run flags:
      --config FILE                  kube-proxy's KubeProxyConfiguration (mode, hostnameOverride,
                                     clusterCIDR, detectLocalMode, masquerade, sync periods...);
                                     flags win over it
      --kubeconfig PATH, --context NAME   follow this API server (list+watch)
      -f DIR --watch                 follow a manifest directory (re-read on change)
      --node NAME (--hostname-override)  this node (default: the host name)
      --healthz-bind-address HOST:PORT   default 0.0.0.0:10256 ('' turns it off)
      --metrics-bind-address HOST:PORT   default 127.0.0.1:10249 ('' turns it off)
      --iptables-min-sync-period D, --iptables-sync-period D   default 1s, 30s
      --nftables-min-sync-period D, --nftables-sync-period D   default 1s, 30s

`;

const OPTIONS = {
  filename: { type: "string", short: "f", multiple: true },
  watch: { type: "boolean" },
  kubeconfig: { type: "string" },
  context: { type: "string" },
  mode: { type: "string" },
  node: { type: "string" },
  "hostname-override": { type: "string" },
  "node-ip": { type: "string", multiple: true },
  "cluster-cidr": { type: "string" },
  "masquerade-all": { type: "boolean" },
  "healthz-bind-address": { type: "string" },
  "metrics-bind-address": { type: "string" },
  "iptables-sync-period": { type: "string" },
  "iptables-min-sync-period": { type: "string" },
  "nftables-sync-period": { type: "string" },
  "nftables-min-sync-period": { type: "string" },
  cleanup: { type: "boolean" },
  config: { type: "string" },
} as const;

type RunValues = ReturnType<typeof parseFlags<typeof OPTIONS>>["values"];

const UNITS: Readonly<Record<string, number>> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

/** A Go duration (`1s`, `500ms`, `1m30s`) in ms. */
export function parseGoDuration(text: string, flag: string): number {
  const parts = [...text.matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g)];
  if (text === "0") return 0;
  if (parts.length === 0 || parts.map((p) => p[0]).join("") !== text)
    throw new CliError(`proxy run: ${flag} '${text}' is not a duration (e.g. 1s, 500ms, 1m30s)`);
  return parts.reduce((ms, p) => ms + Number(p[1]) * (UNITS[p[2] as string] as number), 0);
}

const MODES = ["iptables", "nftables"];

/** Flags over the file over kube-proxy's defaults, as kube-proxy merges them. */
function nodeConfig(
  values: RunValues,
  node: Node | undefined,
  nodeName: string,
  kp: KubeProxyConfiguration | undefined,
  mode: string,
  periods: { readonly syncPeriodMs?: number; readonly minSyncPeriodMs?: number },
): ProxyConfig {
  const texts =
    values["node-ip"] ?? (node?.status?.addresses ?? []).filter((a) => a.type === "InternalIP").map((a) => a.address);
  try {
    const nodeIPs = texts.map((t) => Addr.parse(t));
    const family = nodeIPs[0]?.family ?? 4;
    const fromFile =
      kp === undefined
        ? {}
        : kubeProxyProxyConfigInput(kp, mode, { family, nodeIPs, podCIDRs: node?.spec?.podCIDRs ?? [] });
    // --cluster-cidr replaces the file's CIDRs, and with them a detector built from them.
    const { localDetector, ...rest } = fromFile;
    const keepDetector =
      localDetector !== undefined &&
      !(values["cluster-cidr"] !== undefined && (kp?.detectLocalMode === "" || kp?.detectLocalMode === "ClusterCIDR"));
    return proxyConfig({
      ...rest,
      ...(keepDetector ? { localDetector } : {}),
      ...periods,
      family,
      nodeName,
      nodeIPs,
      nodeLabels: node?.metadata?.labels ?? {},
      ...(values["cluster-cidr"] !== undefined ? { clusterCIDR: values["cluster-cidr"] } : {}),
      ...(values["masquerade-all"] === true || kp === undefined
        ? { masqueradeAll: values["masquerade-all"] === true }
        : {}),
    });
  } catch (e) {
    if (e instanceof AddrError) throw new CliError(`proxy run: ${e.message}`);
    throw e;
  }
}

function bindOf(values: RunValues, flag: "healthz-bind-address" | "metrics-bind-address", def: string) {
  const text = values[flag] ?? def;
  if (text === "") return undefined;
  try {
    return parseBindAddress(text, `--${flag}`);
  } catch (e) {
    throw new CliError(`proxy run: ${(e as Error).message}`);
  }
}

function until(signalled: () => void): Promise<void> {
  return new Promise((done) => {
    const stop = (): void => {
      process.off("SIGINT", stop);
      process.off("SIGTERM", stop);
      signalled();
      done();
    };
    process.on("SIGINT", stop);
    process.on("SIGTERM", stop);
  });
}

/** `knet proxy run ARGS`: runs until SIGINT/SIGTERM (exit 0), or cleans up and exits. */
export async function proxyRun(argv: readonly string[], io: Io): Promise<number> {
  const cmd = "proxy run";
  const { values, positionals } = parseFlags(argv, OPTIONS, cmd);
  if (positionals.length > 0) throw new CliError(`${cmd}: unexpected argument '${positionals[0]}'`);
  if (values.cleanup === true) {
    const others = Object.keys(values).filter((k) => k !== "cleanup");
    if (others.length > 0) throw new CliError(`${cmd}: --cleanup takes no other flag (got --${others[0]})`);
    let done: string[];
    try {
      done = cleanupHost(hostExec);
    } catch (e) {
      throw new CliError(`${cmd} --cleanup: ${(e as Error).message}`, ExitCode.negative);
    }
    for (const line of done) io.err(`${line}\n`);
    io.out(`knet proxy: cleaned up (${done.length} change${done.length === 1 ? "" : "s"})\n`);
    return ExitCode.ok;
  }
  const kp = values.config === undefined ? undefined : readKubeProxyConfigFile(values.config, values, cmd);
  const mode = values.mode ?? (kp?.mode || "iptables");
  if (!MODES.includes(mode))
    throw new CliError(
      mode === "ebpf" || mode === "ipvs"
        ? `${cmd}: --mode ${mode} is rendered by 'knet proxy render' but not applied by the agent yet; use --mode iptables or nftables`
        : `${cmd}: unknown --mode '${mode}': use iptables or nftables`,
    );
  for (const other of MODES.filter((m) => m !== mode))
    for (const f of [`${other}-sync-period`, `${other}-min-sync-period`] as (keyof RunValues)[])
      if (values[f] !== undefined) throw new CliError(`${cmd}: --${f} is for --mode ${other}`);
  const syncFlag = values[`${mode}-sync-period` as "iptables-sync-period"];
  const minFlag = values[`${mode}-min-sync-period` as "iptables-min-sync-period"];
  const periods = {
    ...(syncFlag !== undefined ? { syncPeriodMs: parseGoDuration(syncFlag, `--${mode}-sync-period`) } : {}),
    ...(minFlag !== undefined ? { minSyncPeriodMs: parseGoDuration(minFlag, `--${mode}-min-sync-period`) } : {}),
  };
  if (periods.syncPeriodMs !== undefined && periods.syncPeriodMs <= 0)
    throw new CliError(`${cmd}: --${mode}-sync-period must be greater than 0`);
  const files = values.filename ?? [];
  if (values.kubeconfig !== undefined && files.length > 0)
    throw new CliError(`${cmd}: give --kubeconfig PATH or -f DIR, not both`);
  if (values.kubeconfig === undefined && files.length !== 1)
    throw new CliError(
      `${cmd}: give --kubeconfig PATH, or one manifest directory with -f DIR (and --watch to follow it)`,
    );
  if (values.kubeconfig !== undefined && values.watch === true)
    throw new CliError(`${cmd}: --watch is for -f DIR (an API server is always watched)`);
  if (values.node !== undefined && values["hostname-override"] !== undefined)
    throw new CliError(`${cmd}: --node and --hostname-override are one flag: give one`);
  const healthzBind = bindOf(values, "healthz-bind-address", "0.0.0.0:10256");
  const metricsBind = bindOf(values, "metrics-bind-address", "127.0.0.1:10249");
  const nodeName = values.node ?? values["hostname-override"] ?? (kp?.hostnameOverride || hostname().toLowerCase());

  const log = (line: string): void => io.err(`${line}\n`);
  let state: ClusterState;
  let stopSource: () => void;
  let where: string;
  if (values.kubeconfig !== undefined) {
    let conn: ReturnType<typeof loadKubeconfig>;
    try {
      conn = loadKubeconfig(values.kubeconfig, values.context);
    } catch (e) {
      throw new CliError(`${cmd}: ${(e as Error).message}`);
    }
    // The server defaulted what it stores, and its controller writes the slices.
    state = new ClusterState({ applyDefaults: false, endpointSliceController: false });
    const source = new ClusterSource(conn, state, { kinds: ["Node", "Service", "EndpointSlice"], log });
    try {
      await source.start();
    } catch (e) {
      source.stop();
      throw new CliError(`${cmd}: ${conn.server}: ${(e as Error).message}`, ExitCode.negative);
    }
    stopSource = () => source.stop();
    where = conn.server;
  } else {
    const dir = files[0] as string;
    state = new ClusterState();
    const source = new DirectorySource(dir, state, { log });
    try {
      await source.start({ watch: values.watch === true });
    } catch (e) {
      throw new CliError(`${cmd}: ${(e as Error).message}`);
    }
    stopSource = () => source.stop();
    where = dir;
  }

  const node = state.get("Node", "", nodeName);
  if (node === undefined && state.count("Node") > 0)
    log(`proxy: no Node named ${nodeName} (pass --node NAME); endpoints are not treated as local`);
  const config = nodeConfig(values, node, nodeName, kp, mode, periods);
  if (config.nodeIPs.length === 0) log(`proxy: no node IP for ${nodeName} (pass --node-ip IP)`);
  const engine =
    mode === "iptables"
      ? new IptablesEngine({ config, simulate: false, ...(kp !== undefined ? kubeProxyEngineOptions(kp, mode) : {}) })
      : new NftablesEngine({ config });
  const kernel: KernelApplier = mode === "iptables" ? new IptablesApplier(config) : new NftablesApplier();
  const agent = new NodeAgent({
    engine,
    kernel,
    minSyncPeriodMs: config.minSyncPeriodMs,
    syncPeriodMs: config.syncPeriodMs,
    log,
  });
  const servers: Server[] = [];
  const closeAll = (): void => {
    for (const s of servers) s.close();
  };
  try {
    if (healthzBind !== undefined)
      servers.push(
        await serveHttp(healthzBind, { "/healthz": () => agent.health(true), "/livez": () => agent.health(false) }),
      );
    if (metricsBind !== undefined)
      servers.push(
        await serveHttp(metricsBind, {
          "/metrics": () => ({ status: 200, body: agent.renderMetrics(), type: "text/plain; version=0.0.4" }),
          "/healthz": () => ({ status: 200, body: "ok", type: "text/plain; charset=utf-8" }),
          "/proxyMode": () => ({ status: 200, body: mode, type: "text/plain; charset=utf-8" }),
        }),
      );
  } catch (e) {
    closeAll();
    stopSource();
    const err = e as NodeJS.ErrnoException;
    throw new CliError(`${cmd}: cannot serve: ${err.code ?? err.message}`, ExitCode.negative);
  }
  agent.follow(state);
  agent.start();
  const addr = (s: Server | undefined): string => {
    const a = s?.address();
    return a !== null && typeof a === "object"
      ? `${a.address.includes(":") ? `[${a.address}]` : a.address}:${a.port}`
      : "off";
  };
  const [healthz, metrics] = [
    healthzBind !== undefined ? servers[0] : undefined,
    metricsBind !== undefined ? servers[servers.length - 1] : undefined,
  ];
  io.out(
    `knet proxy: ${mode} mode for node ${nodeName} from ${where}: ${state.count("Service")} services, ${agent.counts.syncs} sync${agent.counts.failures > 0 ? " (failed)" : ""}; healthz ${addr(healthz)}, metrics ${addr(metrics)}\n`,
  );
  await until(() => {
    agent.stop();
    stopSource();
    closeAll();
  });
  io.out("knet proxy: stopped (rules stay; --cleanup removes them)\n");
  return ExitCode.ok;
}
