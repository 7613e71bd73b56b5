/**
 * Reachability matrices (the upstream e2e truth tables): for every ordered pair
 * of pods and every port, whether a connection is allowed with both directions
 * applied; a diff of two matrices; e2e-style text.
 */
import { internals, type PolicyEngine } from "./engine.js";
import type { PolicyProtocol } from "./types.js";

/** A destination port and protocol, written `80/TCP`. */
export interface PortSpec {
  /** Port number. */
  readonly port: number;
  /** Protocol. */
  readonly protocol: PolicyProtocol;
}

/**
 * A reachability matrix, in the CLI's `matrix --json` shape: `allowed[port][i][j]`
 * is the verdict from `pods[i]` to `pods[j]`; pods are sorted by namespace then name.
 */
export interface Reachability {
  /** Pods as `ns/name`. */
  readonly pods: readonly string[];
  /** Ports as `80/TCP`. */
  readonly ports: readonly string[];
  /** Per port, the matrix of verdicts (row = client, column = server). */
  readonly allowed: Readonly<Record<string, readonly (readonly boolean[])[]>>;
}

/** Options of {@link reachability}. */
export interface ReachabilityOptions {
  /** Ports to probe; default 80/TCP and 81/TCP. */
  readonly ports?: readonly PortSpec[];
  /** Pods (`ns/name`) to include; default every pod, sorted by namespace then name. */
  readonly pods?: readonly string[];
}

/** One cell that differs between two matrices. */
export interface ReachabilityDiff {
  /** Port as `80/TCP`. */
  readonly port: string;
  /** Client pod. */
  readonly from: string;
  /** Server pod. */
  readonly to: string;
  /** Verdict in the first matrix (undefined when the cell is absent there). */
  readonly a: boolean | undefined;
  /** Verdict in the second matrix (undefined when the cell is absent there). */
  readonly b: boolean | undefined;
}

/** `80/TCP` text of a port. */
export function formatPortSpec(p: PortSpec): string {
  return `${p.port}/${p.protocol}`;
}

/**
 * Parse `80/TCP` (protocol case-insensitive; `80` alone means TCP).
 * @throws RangeError naming the bad text.
 */
export function parsePortSpec(text: string): PortSpec {
  const m = /^([0-9]{1,5})(?:\/(tcp|udp|sctp))?$/i.exec(text.trim());
  const port = m === null ? Number.NaN : Number(m[1]);
  if (m === null || port < 1 || port > 65535) {
    throw new RangeError(`bad port ${JSON.stringify(text)}: write PORT/PROTOCOL, e.g. 80/TCP, 53/UDP, 9000/SCTP`);
  }
  return { port, protocol: (m[2] ?? "TCP").toUpperCase() as PolicyProtocol };
}

/** The reachability matrix of the engine's cluster (or of a subset of pods). */
export function reachability(engine: PolicyEngine, options: ReachabilityOptions = {}): Reachability {
  const ports = options.ports ?? [
    { port: 80, protocol: "TCP" },
    { port: 81, protocol: "TCP" },
  ];
  const ix = internals(engine);
  const pods = options.pods ?? ix.cluster.pods.map((p) => p.key);
  // Pods by index (no name lookups per cell); names that are not pods of the engine go through allows().
  const idx = pods.map((k) => ix.cluster.pod(k)?.index ?? -1);
  const allowed: Record<string, boolean[][]> = {};
  for (const ps of ports) {
    const rows: boolean[][] = [];
    pods.forEach((from, a) => {
      const i = idx[a] as number;
      const row: boolean[] = [];
      pods.forEach((to, b) => {
        const j = idx[b] as number;
        row.push(
          i >= 0 && j >= 0
            ? ix.allowsIndex(i, j, ps.protocol, ps.port)
            : engine.allows({ from, to, protocol: ps.protocol, port: ps.port }),
        );
      });
      rows.push(row);
    });
    allowed[formatPortSpec(ps)] = rows;
  }
  return { pods: [...pods], ports: ports.map(formatPortSpec), allowed };
}

/** Cells that differ between two matrices (by pod and port name, so their pod lists may differ). */
export function diffReachability(a: Reachability, b: Reachability): ReachabilityDiff[] {
  const cell = (r: Reachability, port: string, from: string, to: string): boolean | undefined => {
    const i = r.pods.indexOf(from);
    const j = r.pods.indexOf(to);
    if (i < 0 || j < 0) return undefined;
    return r.allowed[port]?.[i]?.[j];
  };
  const ports = [...new Set([...a.ports, ...b.ports])];
  const pods = [...new Set([...a.pods, ...b.pods])];
  const out: ReachabilityDiff[] = [];
  for (const port of ports) {
    for (const from of pods) {
      for (const to of pods) {
        const x = cell(a, port, from, to);
        const y = cell(b, port, from, to);
        if (x !== y) out.push({ port, from, to, a: x, b: y });
      }
    }
  }
  return out;
}

/**
 * The matrices as text in the upstream e2e style: one table per port, rows are
 * clients, columns servers, `.` connected and `X` blocked.
 */
export function formatReachability(r: Reachability): string {
  const w = Math.max(...r.pods.map((p) => p.length), 3);
  let out = "";
  for (const port of r.ports) {
    const m = r.allowed[port] ?? [];
    out += `${port}\n${`${"".padEnd(w)} ${r.pods.map((p) => p.padEnd(w)).join(" ")}`.trimEnd()}\n`;
    r.pods.forEach((from, i) => {
      out += `${`${from.padEnd(w)} ${r.pods.map((_, j) => (m[i]?.[j] ? "." : "X").padEnd(w)).join(" ")}`.trimEnd()}\n`;
    });
  }
  return out;
}
