import { main } from "@knet/cli";
import { describe, expect, it } from "vitest";
import { capture } from "./capture.js";

const DEMO = new URL("../../../examples/manifests/demo-cluster.yaml", import.meta.url).pathname;

async function run(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const c = capture();
  const code = await main(args, c.io);
  return { code, out: c.out(), err: c.err() };
}

describe("knet proxy --mode ebpf", () => {
  it("render prints the bpftool batch file, --format maps the map dump", async () => {
    const batch = await run(["proxy", "render", "--mode", "ebpf", "-f", DEMO, "--cluster-cidr", "10.244.0.0/16"]);
    expect(batch.code).toBe(0);
    expect(batch.out).toMatch(/^map update pinned \/sys\/fs\/bpf\/tc\/globals\/cilium_lb4_services_v2 key hex /m);
    const maps = await run([
      "proxy",
      "render",
      "--mode",
      "ebpf",
      "--format",
      "maps",
      "-f",
      DEMO,
      "--lb-algorithm",
      "maglev",
      "--maglev-table-size",
      "251",
    ]);
    expect(maps.code).toBe(0);
    expect(maps.out).toMatch(/^SVC: ID=\d+ ADDR=10\.96\.0\.10:53\/UDP SLOT=0 LBALG=undef /m);
    expect(maps.out).toMatch(/^BE: ID=1 ADDR=\S+ STATE=active$/m);
  });

  it("trace names the maps it read", async () => {
    const r = await run([
      "proxy",
      "trace",
      "--mode",
      "ebpf",
      "-f",
      DEMO,
      "--src",
      "10.244.1.5",
      "--dst",
      "10.96.0.10:53",
      "--proto",
      "udp",
      "--cluster-cidr",
      "10.244.0.0/16",
    ]);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^verdict: DNAT to /m);
    expect(r.out).toContain("bpf/cilium_lb4_services_v2");
    expect(r.out).toContain("bpf/cilium_lb4_backends_v3");
  });

  it("rejects bad eBPF flags with the flag's name", async () => {
    const size = await run(["proxy", "render", "--mode", "ebpf", "-f", DEMO, "--maglev-table-size", "1000"]);
    expect(size.code).toBe(2);
    expect(size.err).toContain("--maglev-table-size 1000");
    const other = await run(["proxy", "render", "--mode", "nftables", "-f", DEMO, "--lb-algorithm", "maglev"]);
    expect(other.code).toBe(2);
    expect(other.err).toContain("--lb-algorithm is an ebpf mode flag");
    const fmt = await run(["proxy", "render", "--mode", "ebpf", "-f", DEMO, "--format", "nft"]);
    expect(fmt.code).toBe(2);
    expect(fmt.err).toContain("writes batch, maps");
  });
});
