import { hash } from "node:crypto";
import type { Endpoint } from "./endpoint.js";
import type { ServicePort } from "./service-port.js";

const B32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

const memo = new Map<string, string>();
const MEMO_MAX = 1_000_000;

/** RFC 4648 base32 of SHA-256(text), first `chars` characters; memoised (names repeat every sync). */
function b32sha256(text: string, chars: number): string {
  const key = chars === 16 ? text : `${chars}\u0000${text}`;
  let v = memo.get(key);
  if (v === undefined) {
    v = b32sha256Uncached(text, chars);
    if (memo.size >= MEMO_MAX) memo.clear();
    memo.set(key, v);
  }
  return v;
}

function b32sha256Uncached(text: string, chars: number): string {
  // One-shot hash (Node >= 20.12): about twice as fast as a Hash object per name, which
  // matters for a first sync that names 110k chains.
  const bytes = hash("sha256", text, "buffer");
  let out = "";
  let buffer = 0;
  let bits = 0;
  for (let i = 0; i < bytes.length && out.length < chars; i++) {
    buffer = ((buffer << 8) | (bytes[i] as number)) & 0xffff;
    bits += 8;
    while (bits >= 5 && out.length < chars) {
      out += B32[(buffer >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  return out;
}

/**
 * The 16-character hash kube-proxy's iptables mode puts after `KUBE-SVC-`,
 * `KUBE-SVL-`, `KUBE-EXT-` and `KUBE-FW-`: base32(sha256(spn + protocol)), where
 * spn is `ns/name[:portName]` and protocol is lower case (no separator).
 */
export function iptablesServiceHash(spn: string, protocol: string): string {
  return b32sha256(spn + protocol.toLowerCase(), 16);
}

/** The four per-service iptables chain names of one service port. */
export interface IptablesServiceChains {
  /** `KUBE-SVC-…`: random choice among cluster endpoints. */
  readonly svc: string;
  /** `KUBE-SVL-…`: random choice among local endpoints. */
  readonly svl: string;
  /** `KUBE-EXT-…`: traffic to NodePorts, externalIPs and LB IPs. */
  readonly ext: string;
  /** `KUBE-FW-…`: the loadBalancerSourceRanges allow-list. */
  readonly fw: string;
}

/**
 * iptables chain names for a service port, from its `ns/name[:portName]` string
 * and protocol. `default/kubernetes:https` tcp gives `KUBE-SVC-NPX46M4PTMTKRN6Y`.
 */
export function iptablesServiceChains(spn: string, protocol: string): IptablesServiceChains {
  const h = iptablesServiceHash(spn, protocol);
  return { svc: `KUBE-SVC-${h}`, svl: `KUBE-SVL-${h}`, ext: `KUBE-EXT-${h}`, fw: `KUBE-FW-${h}` };
}

/**
 * Go's `net.JoinHostPort`: `ip:port`, IPv6 in brackets (`[fd00::1]:80`).
 */
export function joinHostPort(ip: string, port: number): string {
  return ip.includes(":") ? `[${ip}]:${port}` : `${ip}:${port}`;
}

/**
 * The `KUBE-SEP-…` chain of one endpoint: base32(sha256(spn + protocol + ip:port))
 * (IPv6 bracketed). `kube-system/kube-dns:dns-tcp` tcp `10.244.1.99:53` gives
 * `KUBE-SEP-YXU7ECKUN6RQCSDC`.
 */
export function iptablesEndpointChain(spn: string, protocol: string, endpoint: string): string {
  return `KUBE-SEP-${b32sha256(spn + protocol.toLowerCase() + endpoint, 16)}`;
}

/** Prefixes of chains kube-proxy's iptables mode owns (stale-chain garbage collection). */
export const IPTABLES_OWNED_PREFIXES: readonly string[] = [
  "KUBE-SVC-",
  "KUBE-SVL-",
  "KUBE-EXT-",
  "KUBE-FW-",
  "KUBE-SEP-",
];

const NFT_BASE_MAX = 240;

function nftBase(readable: string): string {
  const n = `${b32sha256(readable, 8)}-${readable}`;
  return n.length > NFT_BASE_MAX ? `${n.slice(0, NFT_BASE_MAX - 3)}...` : n;
}

/** The readable part of nftables names for a service port: `ns/name/proto/portName`. */
export function nftServiceReadable(namespace: string, name: string, protocol: string, portName: string): string {
  return `${namespace}/${name}/${protocol.toLowerCase()}/${portName}`;
}

/** The per-service nftables chain names of one service port. */
export interface NftServiceChains {
  /** `service-HASH-ns/name/proto/port`: dispatch over cluster endpoints. */
  readonly service: string;
  /** `local-…`: dispatch over local endpoints. */
  readonly local: string;
  /** `external-…`: external traffic. */
  readonly external: string;
  /** `firewall-…`: loadBalancerSourceRanges. */
  readonly firewall: string;
}

/**
 * nftables chain names of a service port: prefix + base32(sha256(s))[0:8] + `-` + s
 * with s = `ns/name/proto/portName`; `ns1/svc1:p80` tcp gives `service-ULMVA6XW-ns1/svc1/tcp/p80`.
 */
export function nftServiceChains(
  namespace: string,
  name: string,
  protocol: string,
  portName: string,
): NftServiceChains {
  const b = nftBase(nftServiceReadable(namespace, name, protocol, portName));
  return { service: `service-${b}`, local: `local-${b}`, external: `external-${b}`, firewall: `firewall-${b}` };
}

/** The per-endpoint nftables names: the `endpoint-…` chain and the `affinity-…` set. */
export interface NftEndpointNames {
  /** `endpoint-HASH-ns/name/proto/port__ip/port`. */
  readonly endpoint: string;
  /** `affinity-HASH-…`: the ClientIP affinity set of this endpoint. */
  readonly affinity: string;
}

/**
 * nftables names of one endpoint of a service port; IPv6 colons become dots
 * (`endpoint-ZVRFLKHO-ns1/svc1/tcp/p80__fd00.10.180..1/80`).
 */
export function nftEndpointNames(
  namespace: string,
  name: string,
  protocol: string,
  portName: string,
  ip: string,
  port: number,
): NftEndpointNames {
  const b = nftBase(`${nftServiceReadable(namespace, name, protocol, portName)}__${ip.replaceAll(":", ".")}/${port}`);
  return { endpoint: `endpoint-${b}`, affinity: `affinity-${b}` };
}

/** iptables chain names of a {@link ServicePort} (convenience over {@link iptablesServiceChains}). */
export function servicePortIptablesChains(sp: ServicePort): IptablesServiceChains {
  return iptablesServiceChains(sp.spn, sp.protocol);
}

/** The `KUBE-SEP-…` chain of an endpoint of a {@link ServicePort}. */
export function endpointIptablesChain(sp: ServicePort, ep: Endpoint): string {
  return iptablesEndpointChain(sp.spn, sp.protocol, ep.endpoint);
}

/** nftables chain names of a {@link ServicePort}. */
export function servicePortNftChains(sp: ServicePort): NftServiceChains {
  return nftServiceChains(sp.name.namespace, sp.name.name, sp.protocol, sp.name.port);
}

/** nftables names of an endpoint of a {@link ServicePort}. */
export function endpointNftNames(sp: ServicePort, ep: Endpoint): NftEndpointNames {
  return nftEndpointNames(sp.name.namespace, sp.name.name, sp.protocol, sp.name.port, ep.ip, ep.port);
}
