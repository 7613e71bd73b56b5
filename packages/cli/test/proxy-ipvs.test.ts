import { main } from "@knet/cli";
import { describe, expect, it } from "vitest";
import { capture } from "./capture.js";

const DEMO = new URL("../../../examples/manifests/demo-cluster.yaml", import.meta.url).pathname;

async function run(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const c = capture();
  const code = await main(args, c.io);
  return { code, out: c.out(), err: c.err() };
}

describe("knet proxy --mode ipvs", () => {
  it("render prints the four artifacts (and kube-ipvs0) in labelled sections", async () => {
    const r = await run(["proxy", "render", "--mode", "ipvs", "-f", DEMO, "--cluster-cidr", "10.244.0.0/16"]);
    expect(r.code).toBe(0);
    const headings = r.out.split("\n").filter((l) => l.startsWith("# ===="));
    expect(headings).toEqual([
      "# ==== kube-ipvs0 (dummy interface and its addresses) ====",
      "# ==== ipvsadm -S -n (virtual and real servers, ipvsadm -R input) ====",
      "# ==== ipvsadm -Ln (listing) ====",
      "# ==== ipset restore ====",
      "# ==== iptables-restore --noflush --counters ====",
    ]);
    // ClusterIPs of the demo are virtual servers and bound to kube-ipvs0
    expect(r.out).toContain("-A -u 10.96.0.10:53 -s rr");
    expect(r.out).toContain("ip addr add 10.96.100.20/32 dev kube-ipvs0");
    expect(r.out).toContain("add KUBE-CLUSTER-IP 10.96.100.10,tcp:80");
    expect(r.out).toContain("-A KUBE-SERVICES -m set --match-set KUBE-CLUSTER-IP dst,dst -j ACCEPT");
    // headless and ExternalName services have no virtual server
    expect(r.out).not.toMatch(/^-A -t \S+:5432 /m);
  });

  it("trace follows a packet through iptables, the IPVS table and back, with the same flags as iptables mode", async () => {
    const r = await run([
      "proxy",
      "trace",
      "--mode",
      "ipvs",
      "-f",
      DEMO,
      "--src",
      "10.244.1.50",
      "--dst",
      "10.96.100.10:80",
      "--cluster-cidr",
      "10.244.0.0/16",
    ]);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^verdict: DNAT to 10\.244\.\d+\.\d+:\d+\n/);
    expect(r.out).toMatch(/\+ ipvs\/TCP 10\.96\.100\.10:80 rr\s+-> 10\.244\./);
    expect(r.out).toContain("KUBE-SERVICES");
    const j = await run([
      "proxy",
      "trace",
      "--mode",
      "ipvs",
      "-f",
      DEMO,
      "--src",
      "203.0.113.7",
      "--dst",
      "10.96.100.10:81",
      "--json",
    ]);
    expect(j.code).toBe(0);
    const doc = JSON.parse(j.out) as { mode: string; outcome: { kind: string } };
    expect(doc.mode).toBe("ipvs");
    expect(doc.outcome.kind).toBe("reject"); // KUBE-IPVS-FILTER: not a service port of a kube-ipvs0 address
  });

  it("is listed in the usage", async () => {
    const r = await run(["proxy", "--help"]);
    expect(`${r.out}${r.err}`).toMatch(/ipvs\s+kube-ipvs0 addresses/);
  });
});

describe("knet proxy render --artifact (one payload, straight into its tool)", () => {
  const base = ["proxy", "render", "--mode", "ipvs", "-f", DEMO, "--cluster-cidr", "10.244.0.0/16"];
  const sections: [artifact: string, heading: string, first: RegExp][] = [
    ["addresses", "# ==== kube-ipvs0 (dummy interface and its addresses) ====", /^ip link add kube-ipvs0 type dummy\n/],
    ["ipvsadm", "# ==== ipvsadm -S -n (virtual and real servers, ipvsadm -R input) ====", /^-A -[tu] /],
    ["ipset", "# ==== ipset restore ====", /^create KUBE-/],
    ["iptables", "# ==== iptables-restore --noflush --counters ====", /^\*nat\n/],
  ];
  it.each(sections)(
    "--artifact %s prints exactly that section of the full render, no heading",
    async (artifact, heading, first) => {
      const all = await run(base);
      const one = await run([...base, "--artifact", artifact]);
      expect(one.code).toBe(0);
      expect(one.err).toBe("");
      expect(one.out).toMatch(first);
      expect(one.out).not.toContain("# ====");
      const start = all.out.indexOf(`${heading}\n`) + heading.length + 1;
      const end = all.out.indexOf("# ====", start);
      expect(`${all.out.slice(start, end === -1 ? undefined : end).trimEnd()}\n`).toBe(one.out);
    },
  );

  it.each([
    [
      ["--artifact", "nft"],
      "knet: proxy render: unknown --artifact 'nft' for --mode ipvs: it writes ipvsadm, ipset, iptables, addresses\n",
    ],
    [
      ["--artifact", "ipset", "--mode", "iptables"],
      "knet: proxy render: --mode given twice ('ipvs', 'iptables'): give it once\n",
    ],
  ])("bad --artifact: %j", async (extra, err) => {
    const r = await run([...base, ...extra]);
    expect(r.code).toBe(2);
    expect(r.err).toBe(err);
  });

  it("--artifact is for modes with several payloads; --bootstrap is for iptables", async () => {
    const a = await run(["proxy", "render", "-f", DEMO, "--artifact", "ipset"]);
    expect(a.code).toBe(2);
    expect(a.err).toBe("knet: proxy render: --mode iptables writes one artifact: drop --artifact\n");
    const b = await run([...base, "--bootstrap"]);
    expect(b.code).toBe(2);
    expect(b.err).toBe("knet: proxy render: --bootstrap is for --mode iptables\n");
  });
});
