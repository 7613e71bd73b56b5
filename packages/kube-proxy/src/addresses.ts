/**
 * Addresses as kube-proxy reads them from Services and EndpointSlices:
 * k8s.io/utils/net `ParseIPSloppy`/`ParseCIDRSloppy` (Go's parser before 1.17),
 * which accept IPv4 parts with leading zeros as decimal (`172.30.0.041` is
 * 172.30.0.41, `203.0.113.000/025` is 203.0.113.0/25). Objects written before the
 * API server tightened its validation still hold such values; kube-proxy programs
 * the canonical form.
 */
import { Addr, Prefix } from "@knet/netstack";

const DOTTED = /^(.*?)(\d+)\.(\d+)\.(\d+)\.(\d+)$/;

/** `text` with every part of a trailing dotted quad written without leading zeros, or `text` itself. */
function unpadded(text: string): string {
  const m = DOTTED.exec(text);
  if (m === null) return text;
  const head = m[1] as string;
  if (head !== "" && !head.endsWith(":")) return text;
  const parts = m.slice(2, 6).map((p) => Number(p));
  if (parts.some((n) => n > 255)) return text;
  return `${head}${parts.join(".")}`;
}

/** Parse an IP address as `ParseIPSloppy` does. @throws AddrError when even that fails. */
export function parseIPSloppy(text: string): Addr {
  return Addr.parse(unpadded(text.trim()));
}

/** Parse a CIDR as `ParseCIDRSloppy` does (host bits masked off). @throws AddrError when even that fails. */
export function parseCIDRSloppy(text: string): Prefix {
  const t = text.trim();
  const slash = t.indexOf("/");
  if (slash < 0) return Prefix.parse(t, { mask: true }); // reports the missing length
  const len = t.slice(slash + 1);
  return Prefix.parse(`${unpadded(t.slice(0, slash))}/${/^\d+$/.test(len) ? String(Number(len)) : len}`, {
    mask: true,
  });
}
