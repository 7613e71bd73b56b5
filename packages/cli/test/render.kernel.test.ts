import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { release, tmpdir } from "node:os";
import { join } from "node:path";
import { main } from "@knet/cli";
import { describeKernel, Netns } from "@knet/testkit";
import { afterAll, expect, it } from "vitest";
import { capture } from "./capture.js";

const DEMO = new URL("../../../examples/manifests/demo-cluster.yaml", import.meta.url).pathname;
const NODE = ["-f", DEMO, "--node", "node-a", "--cluster-cidr", "10.244.0.0/16"];

async function render(args: string[]): Promise<string> {
  const c = capture();
  const code = await main(["proxy", "render", ...NODE, ...args], c.io);
  expect(c.err()).toBe("");
  expect(code).toBe(0);
  return c.out();
}

/** Rules per `table/chain` of iptables-save (or restore) text. */
function rulesPerChain(text: string): Map<string, number> {
  const out = new Map<string, number>();
  let table = "";
  for (const line of text.split("\n")) {
    if (line.startsWith("*")) table = line.slice(1);
    const m = /^(?:\[\d+:\d+\] )?-A (\S+) /.exec(line);
    if (m) out.set(`${table}/${m[1]}`, (out.get(`${table}/${m[1]}`) ?? 0) + 1);
  }
  return out;
}

const namespaces: Netns[] = [];
afterAll(() => {
  for (const ns of namespaces) ns.delete();
});
function netns(): Netns {
  const ns = Netns.create("render");
  namespaces.push(ns);
  return ns;
}

describeKernel(
  "knet proxy render output loads into a real kernel",
  { commands: ["ip", "iptables-restore", "iptables-save", "ipset"] },
  () => {
    it("--mode iptables --bootstrap: the output alone is a complete ruleset iptables-restore loads", async () => {
      const text = await render(["--bootstrap"]);
      const ns = netns();
      ns.must("iptables-restore", [], text); // no --noflush: it replaces every table it names
      const saved = ns.must("iptables-save", []);
      expect(rulesPerChain(saved)).toEqual(rulesPerChain(text));
      expect(saved).toMatch(/^-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES$/m);
      expect(saved).toMatch(
        /^-A POSTROUTING -m comment --comment "kubernetes postrouting rules" -j KUBE-POSTROUTING$/m,
      );
      // Without the bootstrap the payload loads too, but nothing jumps into it.
      const bare = netns();
      bare.must("iptables-restore", [], await render([]));
      expect(bare.must("iptables-save", [])).not.toMatch(/^-A (PREROUTING|OUTPUT) /m);
    });

    it("--config: the rules a KubeProxyConfiguration shapes (mark bit, masqueradeAll, nodePortAddresses, bridge detector) load", async () => {
      const dir = mkdtempSync(join(tmpdir(), "knet-kpc-"));
      const file = join(dir, "kube-proxy.yaml");
      writeFileSync(
        file,
        `apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
detectLocalMode: BridgeInterface
detectLocal: {bridgeInterface: cbr0}
nodePortAddresses: [192.168.49.0/24]
iptables: {masqueradeAll: true, masqueradeBit: 4, localhostNodePorts: false}
`,
      );
      try {
        const text = await render(["--bootstrap", "--config", file]);
        expect(text).toContain("--or-mark 0x00000010");
        const ns = netns();
        ns.must("iptables-restore", ["--test"], text);
        ns.must("iptables-restore", [], text);
        expect(rulesPerChain(ns.must("iptables-save", []))).toEqual(rulesPerChain(text));
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });

    it("--mode ipvs --artifact ipset | ipset restore, then --artifact iptables | iptables-restore --noflush", async () => {
      const ns = netns();
      const sets = await render(["--mode", "ipvs", "--artifact", "ipset"]);
      ns.must("ipset", ["restore"], sets);
      const names = ns.must("ipset", ["list", "-n"]).trim().split("\n").sort();
      expect(names).toEqual([...sets.matchAll(/^create (\S+) /gm)].map((m) => m[1]).sort());
      const members = ns.must("ipset", ["list", "KUBE-CLUSTER-IP"]);
      expect(members).toContain("10.96.100.10,tcp:80");
      const rules = await render(["--mode", "ipvs", "--artifact", "iptables"]);
      ns.must("iptables-restore", ["--noflush"], rules);
      const saved = ns.must("iptables-save", []);
      expect(saved).toContain("-A KUBE-SERVICES -m set --match-set KUBE-CLUSTER-IP dst,dst -j ACCEPT");
      for (const [chain, n] of rulesPerChain(rules)) expect(rulesPerChain(saved).get(chain), chain).toBe(n);
    });

    describeKernel(
      "ipvsadm -R",
      {
        commands: ["ipvsadm"],
        features: [
          {
            name: "IPVS (no /proc/net/ip_vs and no ip_vs module)",
            present: () =>
              existsSync("/proc/net/ip_vs") || existsSync(`/lib/modules/${release()}/kernel/net/netfilter/ipvs`),
          },
        ],
      },
      () => {
        it("--mode ipvs --artifact ipvsadm | ipvsadm -R gives back the same table (ipvsadm -S -n)", async () => {
          const ns = netns();
          const table = await render(["--mode", "ipvs", "--artifact", "ipvsadm"]);
          ns.must("ipvsadm", ["-R"], table);
          const saved = ns.must("ipvsadm", ["-S", "-n"]);
          expect(saved.trim().split("\n").sort()).toEqual(table.trim().split("\n").sort());
        });
      },
    );
  },
);
