/**
 * `@knet/netstack`: IPv4/IPv6 addresses and prefixes kept as numbers, a
 * longest-prefix-match table, and (as it grows) a simulated Linux dataplane.
 *
 * @example
 * ```ts
 * import { Addr, Prefix, PrefixTable } from "@knet/netstack";
 *
 * const routes = new PrefixTable<string>()
 *   .insert(Prefix.parse("0.0.0.0/0"), "eth0")
 *   .insert(Prefix.parse("10.244.1.0/24"), "cni0");
 * routes.lookup(Addr.parse("10.244.1.9")); // "cni0"
 * Prefix.parse("10.0.0.0/8").subtract([Prefix.parse("10.0.0.0/9")]).map(String); // ["10.128.0.0/9"]
 * ```
 *
 * @module
 */

export type { Family, ParseOptions } from "./addr.js";
export { Addr, AddrError, formatIPv4, formatIPv6, parseIPv4 } from "./addr.js";
export type { PrefixParseOptions } from "./prefix.js";
export { Prefix, wordMask } from "./prefix.js";
export type { PrefixEntry } from "./prefix-table.js";
export { PrefixTable } from "./prefix-table.js";
