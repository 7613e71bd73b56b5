import type { Addr } from "@knet/netstack";
import { backendStateName, formatLbAlg, formatServiceFlags, l4Name } from "./flags.js";
import type { LbMaps } from "./lb-maps.js";

function hostPort(addr: Addr, port: number): string {
  return addr.family === 6 ? `[${addr}]:${port}` : `${addr}:${port}`;
}

/**
 * The LB maps in the line format of Cilium's load-balancer tests
 * (`pkg/loadbalancer/maps` `DumpLBMaps`): `BE:`, `REV:`, `SVC:` (master entries
 * with `LBALG`/`AFFTimeout`, slots with `BEID`, flags joined by `+`, internal
 * scope as `/i`), `AFF:`, `SRCRANGE:` and `MAGLEV:` (backend IDs with their
 * slot counts, most first), all lines sorted.
 */
export function dumpLbMaps(maps: LbMaps): string[] {
  const out: string[] = [];
  for (const s of maps.services.values()) {
    const addr = `${hostPort(s.addr, s.port)}/${l4Name(s.proto)}${s.scope === 1 ? "/i" : ""}`;
    const mid =
      s.slot === 0
        ? `LBALG=${formatLbAlg(s.backendId >>> 24)} AFFTimeout=${s.backendId & 0xffffff}`
        : `BEID=${s.backendId}`;
    out.push(
      `SVC: ID=${s.revNat} ADDR=${addr} SLOT=${s.slot} ${mid} COUNT=${s.count} QCOUNT=${s.qcount} FLAGS=${formatServiceFlags(s.flags)}`,
    );
  }
  for (const b of maps.backends.values())
    out.push(`BE: ID=${b.id} ADDR=${hostPort(b.addr, b.port)}/${l4Name(b.proto)} STATE=${backendStateName(b.state)}`);
  for (const r of maps.revNat.values()) out.push(`REV: ID=${r.id} ADDR=${hostPort(r.addr, r.port)}`);
  for (const a of maps.affinityMatch.values()) out.push(`AFF: ID=${a.revNat} BEID=${a.backendId}`);
  for (const r of maps.sourceRanges.values()) out.push(`SRCRANGE: ID=${r.revNat} CIDR=${r.prefix}`);
  for (const [id, table] of maps.maglev) {
    const counts = new Map<number, number>();
    for (const be of table) counts.set(be, (counts.get(be) ?? 0) + 1);
    const items = [...counts].sort((a, b) => b[1] - a[1] || a[0] - b[0]).map(([be, n]) => `${be}(${n})`);
    out.push(`MAGLEV: ID=${id} INNER=[${items.join(", ")}]`);
  }
  return out.sort();
}
