import { type Addr, ipProtocolNumber } from "@knet/netstack";
import type { RealServer } from "./real-server.js";
import type { VirtualServer } from "./virtual-server.js";

/** libipvs compares host-order addresses by a signed 32-bit difference (so 128.0.0.0 and up sort "low"). */
function cmpAddr(a: Addr, b: Addr): number {
  if (a.family !== b.family) return familyOrder(a) - familyOrder(b);
  if (a.family === 4) return (a.w3 - b.w3) | 0;
  return (a.w0 - b.w0) | 0 || (a.w1 - b.w1) | 0 || (a.w2 - b.w2) | 0 || (a.w3 - b.w3) | 0;
}

/** Services in `ipvsadm` order (`ipvs_cmp_services`: family, protocol number, address, port). */
export function sortServices(services: Iterable<VirtualServer>): VirtualServer[] {
  return [...services].sort(
    (x, y) =>
      familyOrder(x.addr) - familyOrder(y.addr) ||
      (ipProtocolNumber(x.protocol) ?? 0) - (ipProtocolNumber(y.protocol) ?? 0) ||
      cmpAddr(x.addr, y.addr) ||
      x.port - y.port,
  );
}

function familyOrder(a: Addr): number {
  return a.family === 4 ? 2 : 10; // AF_INET, AF_INET6
}

/** Destinations in `ipvsadm` order (`ipvs_cmp_dests`: address, port). */
export function sortDests(dests: readonly RealServer[]): RealServer[] {
  return [...dests].sort((x, y) => cmpAddr(x.addr, y.addr) || x.port - y.port);
}

function hostPort(a: Addr, port: number): string {
  return a.family === 6 ? `[${a.toString()}]:${port}` : `${a.toString()}:${port}`;
}

const SWITCH: Readonly<Record<string, string>> = { tcp: "-t", udp: "-u", sctp: "--sctp-service" };

function schedFlags(vs: VirtualServer): string {
  const name = vs.scheduler.name;
  if (name !== "sh" && name !== "mh") return "";
  const f: string[] = [];
  if (vs.flags.fallback) f.push(`${name}-fallback`);
  if (vs.flags.port) f.push(`${name}-port`);
  return f.join(",");
}

/** `ipvsadm -S -n`: the rule form that `ipvsadm -R` restores. */
export function renderIpvsadmSave(services: Iterable<VirtualServer>): string {
  const out: string[] = [];
  for (const vs of sortServices(services)) {
    const sw = `${SWITCH[vs.protocol]} ${hostPort(vs.addr, vs.port)}`;
    const flags = schedFlags(vs);
    out.push(
      `-A ${sw} -s ${vs.scheduler.name}${flags ? ` -b ${flags}` : ""}${vs.persistentTimeout > 0 ? ` -p ${vs.persistentTimeout}` : ""}`,
    );
    for (const d of sortDests(vs.dests)) out.push(`-a ${sw} -r ${hostPort(d.addr, d.port)} -m -w ${d.weight}`);
  }
  return out.length === 0 ? "" : `${out.join("\n")}\n`;
}

/** `ipvsadm -Ln`: the listing, with connection counters. */
export function renderIpvsadmList(services: Iterable<VirtualServer>, tableSize = 4096): string {
  const out = [
    `IP Virtual Server version 1.2.1 (size=${tableSize})`,
    "Prot LocalAddress:Port Scheduler Flags",
    "  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn",
  ];
  for (const vs of sortServices(services)) {
    const name = `${vs.protocol.toUpperCase()}  ${hostPort(vs.addr, vs.port)}`.slice(0, 33);
    const flags = schedFlags(vs);
    let line = `${name} ${vs.scheduler.name}${flags ? ` (${flags})` : ""}`;
    if (vs.persistentTimeout > 0) line += ` persistent ${vs.persistentTimeout}`;
    out.push(line);
    for (const d of sortDests(vs.dests)) {
      out.push(
        `  -> ${hostPort(d.addr, d.port).padEnd(28)} ${"Masq".padEnd(7)} ${String(d.weight).padEnd(6)} ${String(d.activeConns).padEnd(10)} ${String(d.inactConns).padEnd(10)}`,
      );
    }
  }
  return `${out.join("\n")}\n`;
}
