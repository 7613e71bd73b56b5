import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import {
  iptablesEndpointChain,
  iptablesServiceChains,
  joinHostPort,
  nftEndpointNames,
  nftServiceChains,
} from "@knet/kube-proxy";
import fc from "fast-check";
import { describe, expect, it } from "vitest";

describe("iptables chain names equal kube-proxy's", () => {
  it.each([
    ["default/kubernetes:https", "tcp", "KUBE-SVC-NPX46M4PTMTKRN6Y"],
    ["kube-system/kube-dns:dns-tcp", "tcp", "KUBE-SVC-ERIFXISQEP7F7OF4"],
    ["kube-system/kube-dns:metrics", "tcp", "KUBE-SVC-JD5MR3NA4I4DYORP"],
    ["kube-system/kube-dns:dns", "udp", "KUBE-SVC-TCOU7JCQXEZGVUNU"],
    ["ns1/svc1:p80", "tcp", "KUBE-SVC-XPGD46QRK7WJZT7O"],
    ["ns2/svc2:p80", "tcp", "KUBE-SVC-GNZBNJ2PO5MGZ6GT"],
    ["ns3/svc3:p80", "tcp", "KUBE-SVC-X27LE4BHSL4DOUIK"],
    ["ns4/svc4:p80", "tcp", "KUBE-SVC-4SW47YFZTEDKD3PK"],
    ["ns5/svc5:p80", "tcp", "KUBE-SVC-NUKIZ6OKUXPJNT4C"],
    ["ns2/svc2:p8080", "TCP", "KUBE-SVC-2VJB64SDSIJUP5T6"],
  ])("%s %s -> %s", (spn, proto, want) => {
    const c = iptablesServiceChains(spn, proto);
    expect(c.svc).toBe(want);
    const h = want.slice("KUBE-SVC-".length);
    expect([c.svl, c.ext, c.fw]).toEqual([`KUBE-SVL-${h}`, `KUBE-EXT-${h}`, `KUBE-FW-${h}`]);
  });

  it.each([
    ["kube-system/kube-dns:dns-tcp", "10.244.1.99:53", "KUBE-SEP-YXU7ECKUN6RQCSDC"],
    ["kube-system/kube-dns:dns-tcp", "10.244.2.142:53", "KUBE-SEP-C4WJXZ3GDNSPOCVX"],
    ["ns1/svc1:p80", "10.180.0.1:80", "KUBE-SEP-SXIVWICOYRO3J4NJ"],
    ["ns1/svc1:p80", "10.180.2.1:80", "KUBE-SEP-ZX7GRIZKSNUQ3LAJ"],
    ["ns5/svc5:p80", "10.180.0.3:80", "KUBE-SEP-I77PXRDZVX7PMWMN"],
    ["ns4/svc4:p80", "10.180.0.4:80", "KUBE-SEP-UKSFD7AGPMPPLUHC"],
  ])("%s %s -> %s", (spn, ep, want) => {
    expect(iptablesEndpointChain(spn, "tcp", ep)).toBe(want);
  });
});

describe("nftables names equal kube-proxy's", () => {
  it.each([
    ["ns1", "svc1", "service-ULMVA6XW-ns1/svc1/tcp/p80"],
    ["ns2", "svc2", "service-42NFTM6N-ns2/svc2/tcp/p80"],
    ["ns4", "svc4", "service-LAUZTJTB-ns4/svc4/tcp/p80"],
    ["ns5", "svc5", "service-HVFWP5L3-ns5/svc5/tcp/p80"],
  ])("%s/%s", (ns, name, want) => {
    const c = nftServiceChains(ns, name, "tcp", "p80");
    expect(c.service).toBe(want);
    expect(c.external).toBe(want.replace("service-", "external-"));
  });

  it.each([
    ["ns1", "svc1", "10.180.0.1", "endpoint-5OJB2KTY-ns1/svc1/tcp/p80__10.180.0.1/80"],
    ["ns5", "svc5", "10.180.0.3", "endpoint-GTK6MW7G-ns5/svc5/tcp/p80__10.180.0.3/80"],
    ["ns1", "svc1", "fd00:10:180::1", "endpoint-ZVRFLKHO-ns1/svc1/tcp/p80__fd00.10.180..1/80"],
    ["ns1", "svc1", "fd00:10:180::2:1", "endpoint-2CRNCTTE-ns1/svc1/tcp/p80__fd00.10.180..2.1/80"],
  ])("%s/%s %s", (ns, name, ip, want) => {
    const n = nftEndpointNames(ns, name, "tcp", "p80", ip, 80);
    expect(n.endpoint).toBe(want);
    expect(n.affinity).toBe(want.replace("endpoint-", "affinity-"));
  });
});

const script = "/work/shared/reference/kp_hash.py";
describe.skipIf(!existsSync(script))("agrees with the reference script on random names", () => {
  it("KUBE-SEP and nft endpoint names", () => {
    const label = fc.stringMatching(/^[a-z][a-z0-9-]{0,14}$/);
    const samples = fc.sample(
      fc.tuple(
        label,
        label,
        fc.option(label, { nil: undefined }),
        fc.constantFrom("tcp", "udp", "sctp"),
        fc.integer({ min: 1, max: 65535 }),
        fc.ipV4(),
      ),
      3,
    );
    for (const [ns, name, port, proto, p, ip] of samples) {
      const spn = port === undefined ? `${ns}/${name}` : `${ns}/${name}:${port}`;
      const ep = joinHostPort(ip, p);
      const sep = execFileSync("python3", [script, "sep", spn, proto, ep], { encoding: "utf8" }).trim();
      expect(iptablesEndpointChain(spn, proto, ep)).toBe(sep);
      const nft = execFileSync("python3", [script, "nft", spn, proto, ep], { encoding: "utf8" }).trim().split("\n");
      expect(nftServiceChains(ns, name, proto, port ?? "").service).toBe(nft[0]);
      expect(nftEndpointNames(ns, name, proto, port ?? "", ip, p).endpoint).toBe(nft[4]);
    }
  });
});
