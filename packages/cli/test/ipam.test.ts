import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { main } from "@knet/cli";
import { afterAll, describe, expect, it } from "vitest";
import { capture } from "./capture.js";

async function knet(...argv: string[]) {
  const c = capture();
  const code = await main(argv, c.io);
  return { code, out: c.out(), err: c.err() };
}

const work = mkdtempSync(join(tmpdir(), "knet-cli-ipam-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const conflist = join(work, "10-pods.conflist");
writeFileSync(
  conflist,
  JSON.stringify({
    cniVersion: "1.0.0",
    name: "pods",
    plugins: [
      {
        type: "bridge",
        bridge: "cni0",
        ipam: {
          type: "host-local",
          ranges: [[{ subnet: "10.244.1.0/29" }], [{ subnet: "fd00:1::/125" }]],
          dataDir: join(work, "data"),
        },
      },
      { type: "portmap", capabilities: { portMappings: true } },
    ],
  }),
);

describe("knet ipam", () => {
  it("adds, shows, checks and deletes against a host-local store", async () => {
    const a = await knet("ipam", "add", "--config", conflist, "--container", "c1");
    expect(a.code, a.err).toBe(0);
    expect(a.out).toBe("10.244.1.2/29 gateway 10.244.1.1\nfd00:1::2/125 gateway fd00:1::1\n");
    const b = await knet("ipam", "add", "--config", conflist, "--container", "c2", "--ip", "10.244.1.5", "--json");
    expect(b.code, b.err).toBe(0);
    expect(JSON.parse(b.out).ips.map((i: { address: string }) => i.address)).toEqual([
      "10.244.1.5/29",
      "fd00:1::3/125",
    ]);

    const s = await knet("ipam", "show", "--config", conflist, "--json");
    expect(s.code, s.err).toBe(0);
    const shown = JSON.parse(s.out);
    expect(shown.network).toBe("pods");
    expect(shown.rangeSets[0].capacity).toBe("5");
    expect(shown.rangeSets[0].used).toBe(2);
    expect(shown.rangeSets[0].lastReserved).toBe("10.244.1.5");
    expect(shown.rangeSets[1].capacity).toBe("6");
    expect(shown.rangeSets[0].reservations).toEqual([
      { ip: "10.244.1.2", containerId: "c1", ifname: "eth0" },
      { ip: "10.244.1.5", containerId: "c2", ifname: "eth0" },
    ]);
    const text = await knet("ipam", "show", "--config", conflist);
    expect(text.out).toContain("range set 0: 10.244.1.1-10.244.1.6  (gateway 10.244.1.1)  used 2/5");

    expect((await knet("ipam", "check", "--config", conflist, "--container", "c1")).code).toBe(0);
    const dup = await knet("ipam", "add", "--config", conflist, "--container", "c1");
    expect(dup.code).toBe(1);
    expect(dup.err).toBe(
      "knet: ipam: failed to allocate for range 0: 10.244.1.2 has been allocated to c1, duplicate allocation is not allowed\n",
    );
    const d = await knet("ipam", "del", "--config", conflist, "--container", "c1");
    expect(d.out).toBe("released 10.244.1.2 fd00:1::2\n");
    expect((await knet("ipam", "del", "--config", conflist, "--container", "c1")).out).toBe("nothing held\n");
    const gone = await knet("ipam", "check", "--config", conflist, "--container", "c1");
    expect(gone.code).toBe(1);
    expect(gone.err).toContain("host-local: Failed to find address added by container c1");
  });

  it("plans ClusterIPs, NodePorts and node CIDRs", async () => {
    const c = await knet(
      "ipam",
      "cluster-ip",
      "--service-cidr",
      "10.96.0.0/12",
      "--count",
      "2",
      "--node-port-range",
      "30000-32767",
    );
    expect(c.code, c.err).toBe(0);
    expect(c.out).toContain(
      "service CIDR 10.96.0.0/12: 1048574 allocatable addresses, static band 256 (10.96.0.1-10.96.1.0)",
    );
    expect(c.out).toContain("kubernetes Service: 10.96.0.1\n");
    expect(c.out.match(/^dynamic: /gm)?.length).toBe(2);
    expect(c.out).toContain("node ports 30000-32767: 2768 ports, static band 86");
    const n = await knet("ipam", "node-cidrs", "--cluster-cidr", "10.244.0.0/16,fd00:10:244::/56", "--nodes", "2");
    expect(n.out).toBe("node-1 10.244.0.0/24,fd00:10:244::/64\nnode-2 10.244.1.0/24,fd00:10:244:1::/64\n");
    const full = await knet("ipam", "node-cidrs", "--cluster-cidr", "10.0.0.0/23", "--nodes", "3");
    expect(full.code).toBe(1);
    expect(full.err).toContain("there are no remaining CIDRs left to allocate");
  });

  it("reports usage errors with exit 2", async () => {
    expect((await knet("ipam")).code).toBe(2);
    expect((await knet("ipam", "frob")).code).toBe(2);
    const r = await knet("ipam", "add", "--config", conflist);
    expect(r.code).toBe(2);
    expect(r.err).toContain("--container ID is required");
    expect((await knet("ipam", "show", "--bogus")).code).toBe(2);
  });
});
