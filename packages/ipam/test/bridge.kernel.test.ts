// The real Debian `bridge` CNI plugin with "ipam": {"type": "knet-host-local"}: our
// executable (found on CNI_PATH through a small shell wrapper) allocates a dual-stack
// address pair, the bridge configures it inside a test namespace, CHECK and DEL work
// through the same delegation. The bridge runs inside a stand-in host namespace the test
// created, never in the root namespace.
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describeKernel, Netns, uniqueIfName } from "@knet/testkit";
import { afterAll, beforeAll, expect, it } from "vitest";
import { readStoreDir } from "./helpers.js";
import { ensureBuilt, ourBinary } from "./plugin-exec.js";

const BRIDGE = "/usr/lib/cni/bridge";
describeKernel("real bridge plugin with knet-host-local as its IPAM", { commands: ["ip", BRIDGE] }, () => {
  let rt: Netns | undefined;
  let ctr: Netns | undefined;
  const work = mkdtempSync(join(tmpdir(), "knet-ipam-bridge-"));
  const bin = join(work, "bin");
  const dataDir = join(work, "ipam");
  const cid = "knet-bridge-ctr-1";
  let config: Record<string, unknown> = {};

  beforeAll(() => {
    ensureBuilt();
    rt = Netns.create("ipamrt");
    ctr = Netns.create("ipamctr");
    rmSync(bin, { recursive: true, force: true });
    mkdirSync(bin);
    writeFileSync(join(bin, "knet-host-local"), `#!/bin/sh\nexec "${process.execPath}" "${ourBinary}" "$@"\n`);
    chmodSync(join(bin, "knet-host-local"), 0o755);
    config = {
      cniVersion: "1.0.0",
      name: "knet-bridge-test",
      type: "bridge",
      bridge: uniqueIfName("kbr"),
      isGateway: true,
      ipam: {
        type: "knet-host-local",
        ranges: [[{ subnet: "10.199.77.0/24" }], [{ subnet: "fd00:199:77::/64" }]],
        routes: [{ dst: "0.0.0.0/0" }],
        dataDir,
      },
    };
  }, 120_000);

  afterAll(() => {
    ctr?.delete();
    rt?.delete();
    rmSync(work, { recursive: true, force: true });
  });

  function bridge(verb: string, stdin: unknown): { code: number; out: unknown } {
    const env = [
      "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
      `CNI_COMMAND=${verb}`,
      `CNI_CONTAINERID=${cid}`,
      `CNI_NETNS=/var/run/netns/${ctr?.name}`,
      "CNI_IFNAME=eth0",
      `CNI_PATH=${bin}:/usr/lib/cni`,
    ];
    const r = (rt as Netns).run("env", ["-i", ...env, BRIDGE], JSON.stringify(stdin));
    const text = r.stdout.trim();
    return { code: r.code, out: text === "" ? "" : (JSON.parse(text) as unknown) };
  }

  it("ADD configures the container with the addresses knet-host-local allocated; CHECK and DEL delegate too", () => {
    const add = bridge("ADD", config);
    expect(add.code, JSON.stringify(add.out)).toBe(0);
    const result = add.out as { ips: { address: string; gateway: string; interface: number }[] };
    expect(result.ips.map((i) => i.address)).toEqual(["10.199.77.2/24", "fd00:199:77::2/64"]);
    expect(result.ips.every((i) => i.interface === 2)).toBe(true);

    const store = join(dataDir, "knet-bridge-test");
    expect(readStoreDir(store)).toEqual({
      "10.199.77.2": `${cid}\r\neth0`,
      "fd00:199:77::2": `${cid}\r\neth0`,
      "last_reserved_ip.0": "10.199.77.2",
      "last_reserved_ip.1": "fd00:199:77::2",
      lock: "",
    });

    const c = ctr as Netns;
    const addrs = c.must("ip", ["-o", "addr", "show", "dev", "eth0"]);
    expect(addrs).toContain("inet 10.199.77.2/24");
    expect(addrs).toContain("inet6 fd00:199:77::2/64");
    expect(c.must("ip", ["-4", "route", "show", "default"])).toContain("default via 10.199.77.1 dev eth0");
    // The bridge (in the stand-in host namespace) got the gateway; traffic flows.
    expect(c.run("ping", ["-c", "1", "-W", "2", "10.199.77.1"]).code).toBe(0);

    const check = bridge("CHECK", { ...config, prevResult: add.out });
    expect(check.code, JSON.stringify(check.out)).toBe(0);

    const del = bridge("DEL", { ...config, prevResult: add.out });
    expect(del.code, JSON.stringify(del.out)).toBe(0);
    expect(readStoreDir(store)).toEqual({
      "last_reserved_ip.0": "10.199.77.2",
      "last_reserved_ip.1": "fd00:199:77::2",
      lock: "",
    });
    expect(c.run("ip", ["link", "show", "eth0"]).code).not.toBe(0);
    // DEL is idempotent through the delegation as well.
    expect(bridge("DEL", config).code).toBe(0);
  });
});
