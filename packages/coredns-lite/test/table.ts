/**
 * The reference's query/answer table (`reference/coredns.md` section 3) as data,
 * shared by the pure resolve() test and the dig test. Records are written as
 * `owner TTL TYPE data`; SOA serials are `S`. Order inside a section is not significant.
 */

/** Server/plugin variants some rows need. */
export type Variant = "default" | "insecure" | "verified" | "ignoreEmpty" | "unsynced" | "forward" | "self";

/** One row. */
export interface Row {
  readonly id: string;
  readonly name: string;
  readonly type: string;
  readonly variant: Variant;
  readonly rcode: "NOERROR" | "NXDOMAIN" | "SERVFAIL" | "REFUSED";
  readonly aa: boolean;
  readonly answer: readonly string[];
  readonly authority: readonly string[];
  readonly additional: readonly string[];
}

const Z = "cluster.local.";
/** Absolute name below the zone. */
export const n = (rel: string): string => (rel === "" ? Z : `${rel}.${Z}`);
const SOA = `${Z} 5 SOA ns.dns.${Z} hostmaster.${Z} S 7200 1800 86400 5`;
const RSOA = "in-addr.arpa. 5 SOA ns.dns.in-addr.arpa. hostmaster.in-addr.arpa. S 7200 1800 86400 5";

/** The upstream's answer for `ext.example.test.` in the forward variant. */
export const UPSTREAM_A = "ext.example.test. 60 A 192.0.2.10";

function ok(
  id: string,
  name: string,
  type: string,
  answer: string[],
  additional: string[] = [],
  variant: Variant = "default",
): Row {
  return { id, name, type, variant, rcode: "NOERROR", aa: true, answer, authority: [], additional };
}
function nodata(id: string, name: string, type: string, variant: Variant = "default", soa = SOA): Row {
  return { id, name, type, variant, rcode: "NOERROR", aa: true, answer: [], authority: [soa], additional: [] };
}
function nx(id: string, name: string, type: string, variant: Variant = "default", soa = SOA): Row {
  return { id, name, type, variant, rcode: "NXDOMAIN", aa: true, answer: [], authority: [soa], additional: [] };
}

const svc1 = n("svc1.testns.svc");
const srv1 = (owner: string): string => `${owner} 5 SRV 0 100 80 ${svc1}`;
const hd = (rel: string): string => n(`${rel}.hdls1.testns.svc`);

/** Every row of the table (variants of a row get suffixes). */
export const ROWS: readonly Row[] = [
  ok("1", svc1, "A", [`${svc1} 5 A 10.0.0.1`]),
  ok("2", "SVC1.TestNS.svc.cluster.local.", "A", ["SVC1.TestNS.svc.cluster.local. 5 A 10.0.0.1"]),
  nodata("3", svc1, "AAAA"),
  nodata("4", svc1, "TXT"),
  nx("5", n("svc0.testns.svc"), "A"),
  nx("6", n("svc0.svc-nons.svc"), "A"),
  ok("7", n("_http._tcp.svc1.testns.svc"), "SRV", [srv1(n("_http._tcp.svc1.testns.svc"))], [`${svc1} 5 A 10.0.0.1`]),
  ok("8", svc1, "SRV", [srv1(svc1)], [`${svc1} 5 A 10.0.0.1`]),
  nx("9", n("_https._tcp.svc1.testns.svc"), "SRV"),
  ok("10", n("svcempty.testns.svc"), "A", [`${n("svcempty.testns.svc")} 5 A 10.0.0.2`]),
  nx("10-ignore", n("svcempty.testns.svc"), "A", "ignoreEmpty"),
  ok("11-aaaa", n("svc6.testns.svc"), "AAAA", [`${n("svc6.testns.svc")} 5 AAAA 1234:abcd::1`]),
  nodata("11-a", n("svc6.testns.svc"), "A"),
  ok("12-a", n("svc-dual.testns.svc"), "A", [`${n("svc-dual.testns.svc")} 5 A 10.0.0.3`]),
  ok("12-aaaa", n("svc-dual.testns.svc"), "AAAA", [`${n("svc-dual.testns.svc")} 5 AAAA 10::3`]),
  ok(
    "13",
    n("_http._tcp.svc-dual.testns.svc"),
    "SRV",
    [`${n("_http._tcp.svc-dual.testns.svc")} 5 SRV 0 50 80 ${n("svc-dual.testns.svc")}`],
    [`${n("svc-dual.testns.svc")} 5 A 10.0.0.3`, `${n("svc-dual.testns.svc")} 5 AAAA 10::3`],
  ),
  ok(
    "14",
    n("hdls1.testns.svc"),
    "A",
    ["172.0.0.2", "172.0.0.3", "172.0.0.4", "172.0.0.5"].map((ip) => `${n("hdls1.testns.svc")} 5 A ${ip}`),
  ),
  ok(
    "15",
    n("hdls1.testns.svc"),
    "AAAA",
    ["5678:abcd::1", "5678:abcd::2"].map((ip) => `${n("hdls1.testns.svc")} 5 AAAA ${ip}`),
  ),
  ok(
    "16",
    n("_http._tcp.hdls1.testns.svc"),
    "SRV",
    ["172-0-0-2", "172-0-0-3", "5678-abcd--1", "5678-abcd--2", "dup-name"].map(
      (h) => `${n("_http._tcp.hdls1.testns.svc")} 5 SRV 0 16 80 ${hd(h)}`,
    ),
    [
      `${hd("172-0-0-2")} 5 A 172.0.0.2`,
      `${hd("172-0-0-3")} 5 A 172.0.0.3`,
      `${hd("dup-name")} 5 A 172.0.0.4`,
      `${hd("dup-name")} 5 A 172.0.0.5`,
      `${hd("5678-abcd--1")} 5 AAAA 5678:abcd::1`,
      `${hd("5678-abcd--2")} 5 AAAA 5678:abcd::2`,
    ],
  ),
  ok("17", hd("dup-name"), "A", [`${hd("dup-name")} 5 A 172.0.0.4`, `${hd("dup-name")} 5 A 172.0.0.5`]),
  ok("18", hd("172-0-0-2"), "A", [`${hd("172-0-0-2")} 5 A 172.0.0.2`]),
  ok("19", hd("5678-abcd--1"), "AAAA", [`${hd("5678-abcd--1")} 5 AAAA 5678:abcd::1`]),
  nx("20", hd("bogus"), "A"),
  nx("21", n("hdlsnone.testns.svc"), "A"),
  ok("22", n("ep1a.svc1.testns.svc"), "A", [`${n("ep1a.svc1.testns.svc")} 5 A 172.0.0.1`]),
  ok("23", n("ext.testns.svc"), "CNAME", [`${n("ext.testns.svc")} 5 CNAME ext.example.test.`]),
  ok("24", n("ext.testns.svc"), "A", [`${n("ext.testns.svc")} 5 CNAME ext.example.test.`, UPSTREAM_A], [], "forward"),
  ok("25", n("ext2svc.testns.svc"), "A", [`${n("ext2svc.testns.svc")} 5 CNAME ${svc1}`, `${svc1} 5 A 10.0.0.1`]),
  nx("26", n("x.ext.testns.svc"), "CNAME"),
  // ExternalName answers only its exact name (CoreDNS v1.11+): extra labels, _port._protocol included, are NXDOMAIN.
  nx("26b", n("_http._tcp.ext.testns.svc"), "SRV"),
  nx("26c", n("x.ext.testns.svc"), "A"),
  nx("26d", n("_http._tcp.ext.testns.svc"), "A"),
  // The question's spelling: owners as asked; names built under the zone end in the zone as asked;
  // names from objects (ExternalName targets and their chain) as the objects spell them.
  ok(
    "7-case",
    "_HTTP._tcp.SVC1.TestNS.svc.Cluster.Local.",
    "SRV",
    ["_HTTP._tcp.SVC1.TestNS.svc.Cluster.Local. 5 SRV 0 100 80 svc1.testns.svc.Cluster.Local."],
    ["svc1.testns.svc.Cluster.Local. 5 A 10.0.0.1"],
  ),
  ok(
    "16-case",
    "_http._tcp.hdls1.testns.svc.CLUSTER.local.",
    "SRV",
    ["172-0-0-2", "172-0-0-3", "5678-abcd--1", "5678-abcd--2", "dup-name"].map(
      (h) => `_http._tcp.hdls1.testns.svc.CLUSTER.local. 5 SRV 0 16 80 ${h}.hdls1.testns.svc.CLUSTER.local.`,
    ),
    [
      "172-0-0-2.hdls1.testns.svc.CLUSTER.local. 5 A 172.0.0.2",
      "172-0-0-3.hdls1.testns.svc.CLUSTER.local. 5 A 172.0.0.3",
      "dup-name.hdls1.testns.svc.CLUSTER.local. 5 A 172.0.0.4",
      "dup-name.hdls1.testns.svc.CLUSTER.local. 5 A 172.0.0.5",
      "5678-abcd--1.hdls1.testns.svc.CLUSTER.local. 5 AAAA 5678:abcd::1",
      "5678-abcd--2.hdls1.testns.svc.CLUSTER.local. 5 AAAA 5678:abcd::2",
    ],
  ),
  ok("25-case", "EXT2SVC.testns.svc.cluster.LOCAL.", "A", [
    `EXT2SVC.testns.svc.cluster.LOCAL. 5 CNAME ${svc1}`,
    `${svc1} 5 A 10.0.0.1`,
  ]),
  ok("28-case", "Cluster.Local.", "SOA", [
    "Cluster.Local. 5 SOA ns.dns.Cluster.Local. hostmaster.Cluster.Local. S 7200 1800 86400 5",
  ]),
  nx(
    "5-case",
    "svc0.TESTNS.svc.CLUSTER.LOCAL.",
    "A",
    "default",
    "CLUSTER.LOCAL. 5 SOA ns.dns.CLUSTER.LOCAL. hostmaster.CLUSTER.LOCAL. S 7200 1800 86400 5",
  ),
  ok("27", n("dns-version"), "TXT", [`${n("dns-version")} 28800 TXT "1.1.0"`]),
  ok("28", Z, "SOA", [SOA]),
  ok("29", Z, "NS", [`${Z} 5 NS ns.dns.${Z}`]),
  ok(
    "29-self",
    Z,
    "NS",
    [`${Z} 5 NS ${n("kube-dns.kube-system.svc")}`],
    [`${n("kube-dns.kube-system.svc")} 5 A 10.0.0.10`],
    "self",
  ),
  nodata("30-apex", Z, "A"),
  nodata("30-svc", n("svc"), "A"),
  nodata("30-pod", n("pod"), "A"),
  nodata("30-ns", n("testns.svc"), "A"),
  nx("31-a", n("foo"), "A"),
  nx("31-ns", n("foo"), "NS"),
  nodata("32", n("svc"), "NS"),
  nx("33", n("a.b.c.svc1.testns.svc"), "A"),
  ok("33b", n("http.tcp.svc1.testns.svc"), "SRV", [srv1(n("http.tcp.svc1.testns.svc"))], [`${svc1} 5 A 10.0.0.1`]),
  nx("34", n("*.testns.svc"), "A"),
  nx("35-disabled", n("10-240-0-1.testns.pod"), "A"),
  ok("35-insecure", n("10-240-0-1.testns.pod"), "A", [`${n("10-240-0-1.testns.pod")} 5 A 10.240.0.1`], [], "insecure"),
  ok("35-verified", n("10-240-0-1.testns.pod"), "A", [`${n("10-240-0-1.testns.pod")} 5 A 10.240.0.1`], [], "verified"),
  nx("35-verified-miss", n("10-240-0-2.testns.pod"), "A", "verified"),
  nx("36-a", n("blah.testns.pod"), "A", "insecure"),
  nx("36-aaaa", n("blah.testns.pod"), "AAAA", "insecure"),
  nx("36-hinfo", n("blah.testns.pod"), "HINFO", "insecure"),
  nx("36b-disabled", n("testns.pod"), "A"),
  nodata("36b-insecure", n("testns.pod"), "A", "insecure"),
  ok("37", "1.0.0.10.in-addr.arpa.", "PTR", [`1.0.0.10.in-addr.arpa. 5 PTR ${svc1}`]),
  ok("38", "1.0.0.172.in-addr.arpa.", "PTR", [`1.0.0.172.in-addr.arpa. 5 PTR ${n("ep1a.svc1.testns.svc")}`]),
  ok("39", "2.0.0.172.in-addr.arpa.", "PTR", [`2.0.0.172.in-addr.arpa. 5 PTR ${hd("172-0-0-2")}`]),
  ok("39-v6", "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.d.c.b.a.4.3.2.1.ip6.arpa.", "PTR", [
    `1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.d.c.b.a.4.3.2.1.ip6.arpa. 5 PTR ${n("svc6.testns.svc")}`,
  ]),
  nx("40", "9.9.9.10.in-addr.arpa.", "PTR", "default", RSOA),
  nodata("41-mx", svc1, "MX"),
  nodata("41-hinfo", svc1, "HINFO"),
  nodata("41-soa", svc1, "SOA"),
  nodata("41b-soa", n("svc0.testns.svc"), "SOA"),
  nx("41b-hinfo", n("svc0.testns.svc"), "HINFO"),
  nodata("41c", n("ext.testns.svc"), "SRV"),
  { ...nx("42", n("svc0.testns.svc"), "A", "unsynced"), rcode: "SERVFAIL" },
  {
    id: "43",
    name: Z,
    type: "AXFR",
    variant: "default",
    rcode: "REFUSED",
    aa: false,
    answer: [],
    authority: [],
    additional: [],
  },
];

/** Normalise one record line to `owner TTL TYPE data` with the SOA serial as `S` (owner case kept). */
export function normalise(line: string): string {
  const f = line.trim().split(/\s+/);
  if (f[2] === "IN") f.splice(2, 1);
  if (f[2] === "SOA") f[5] = "S";
  return f.join(" ");
}
