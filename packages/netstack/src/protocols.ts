/**
 * IP protocol numbers and names: the one table every package uses to turn
 * `tcp`/`udp`/`sctp`/`icmp` (as iptables, nft, ipset, ipvsadm and Kubernetes
 * spell them) into IANA numbers and back. Names follow `/etc/protocols` as
 * Debian ships it, which is what iptables and nft print.
 */

/** One protocol: its number, the name tools print, and other names they accept. */
export interface IpProtocol {
  /** IANA number (the IPv4 `protocol` / IPv6 `next header` value). */
  readonly number: number;
  /** The name `iptables-save` and `nft list` print. */
  readonly name: string;
  /** Other accepted spellings (`icmpv6` for `ipv6-icmp`). */
  readonly aliases: readonly string[];
}

/** The protocols the Kubernetes networking tools name. */
export const IP_PROTOCOLS: readonly IpProtocol[] = [
  { number: 1, name: "icmp", aliases: [] },
  { number: 2, name: "igmp", aliases: [] },
  { number: 6, name: "tcp", aliases: [] },
  { number: 17, name: "udp", aliases: [] },
  { number: 47, name: "gre", aliases: [] },
  { number: 50, name: "esp", aliases: [] },
  { number: 51, name: "ah", aliases: [] },
  { number: 58, name: "ipv6-icmp", aliases: ["icmpv6"] },
  { number: 132, name: "sctp", aliases: [] },
  { number: 136, name: "udplite", aliases: [] },
];

const BY_NAME = new Map<string, number>();
const BY_NUMBER = new Map<number, string>();
for (const p of IP_PROTOCOLS) {
  BY_NUMBER.set(p.number, p.name);
  BY_NAME.set(p.name, p.number);
  for (const a of p.aliases) BY_NAME.set(a, p.number);
}

/**
 * The number of a protocol given by name (any case) or as a decimal number
 * 0-255 (`tcp` -> 6, `132` -> 132); `undefined` for anything else.
 */
export function ipProtocolNumber(nameOrNumber: string): number | undefined {
  const v = BY_NAME.get(nameOrNumber) ?? BY_NAME.get(nameOrNumber.toLowerCase());
  if (v !== undefined) return v;
  if (/^\d{1,3}$/.test(nameOrNumber) && Number(nameOrNumber) <= 255) return Number(nameOrNumber);
  return undefined;
}

/** The name tools print for protocol `number` (`6` -> `tcp`), or `undefined` when it has none here. */
export function ipProtocolName(number: number): string | undefined {
  return BY_NUMBER.get(number);
}
