/** DNS wire constants (RFC 1035, 2782, 3596, 6891, 8482). */

/** Resource record type codes used by the server. */
export const RRType = {
  A: 1,
  NS: 2,
  CNAME: 5,
  SOA: 6,
  PTR: 12,
  HINFO: 13,
  MX: 15,
  TXT: 16,
  AAAA: 28,
  SRV: 33,
  OPT: 41,
  IXFR: 251,
  AXFR: 252,
  ANY: 255,
} as const;

/** Response codes (the low 4 bits of the header; BADVERS needs the EDNS extended rcode). */
export const Rcode = {
  NOERROR: 0,
  FORMERR: 1,
  SERVFAIL: 2,
  NXDOMAIN: 3,
  NOTIMP: 4,
  REFUSED: 5,
  BADVERS: 16,
} as const;

/** The class IN. */
export const CLASS_IN = 1;

const TYPE_NAMES = new Map<number, string>(Object.entries(RRType).map(([k, v]) => [v, k]));
const RCODE_NAMES = new Map<number, string>(Object.entries(Rcode).map(([k, v]) => [v, k]));

/** `A`, `SRV`, ... or `TYPE123` for a type code. */
export function typeName(type: number): string {
  return TYPE_NAMES.get(type) ?? `TYPE${type}`;
}

/** The code of a type given by name (`aaaa`, `TYPE65`) or number; undefined when unknown. */
export function typeCode(type: string | number): number | undefined {
  if (typeof type === "number") return Number.isInteger(type) && type >= 0 && type <= 65535 ? type : undefined;
  const up = type.toUpperCase();
  const known = (RRType as Record<string, number>)[up];
  if (known !== undefined) return known;
  const m = /^TYPE(\d{1,5})$/.exec(up);
  if (m?.[1] !== undefined) return typeCode(Number(m[1]));
  return undefined;
}

/** `NOERROR`, `NXDOMAIN`, ... or `RCODE<n>`. */
export function rcodeName(rcode: number): string {
  return RCODE_NAMES.get(rcode) ?? `RCODE${rcode}`;
}
