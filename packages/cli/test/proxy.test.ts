import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { main, registerBundledModes } from "@knet/cli";
import { iptablesServiceChains, proxyModes } from "@knet/kube-proxy";
import { IptablesEvaluator, parseIptablesSave } from "@knet/kube-proxy-iptables";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { capture } from "./capture.js";

async function run(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const c = capture();
  const code = await main(args, c.io);
  return { code, out: c.out(), err: c.err() };
}

const DEMO = new URL("../../../examples/manifests/demo-cluster.yaml", import.meta.url).pathname;

let dir = "";
let slices = "";
let badSlice = "";
let badFamily = "";

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "knet-proxy-"));
  slices = join(dir, "slices.yaml");
  await writeFile(
    slices,
    `apiVersion: v1
kind: Service
metadata: {name: kubernetes, namespace: default}
spec:
  clusterIP: 10.96.0.1
  ports: [{name: https, port: 443, protocol: TCP}]
---
apiVersion: v1
kind: Service
metadata: {name: empty, namespace: default}
spec:
  clusterIP: 10.96.0.2
  ports: [{name: http, port: 80}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: kubernetes
  namespace: default
  labels: {kubernetes.io/service-name: kubernetes}
addressType: IPv4
ports: [{name: https, port: 6443, protocol: TCP}]
endpoints:
  - addresses: [172.18.0.2]
  - addresses: [172.18.0.3]
`,
  );
  badSlice = join(dir, "bad-slice.yaml");
  await writeFile(
    badSlice,
    `apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec:
  clusterIP: 10.96.0.5
  ports: [{name: http, port: 80}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: web-abc
  namespace: shop
  labels: {kubernetes.io/service-name: web}
addressType: IPv4
ports: [{name: http, port: 8080}]
endpoints:
  - addresses: [10.244.1.999]
`,
  );
  badFamily = join(dir, "bad-family.yaml");
  await writeFile(
    badFamily,
    `apiVersion: v1
kind: Service
metadata: {name: odd, namespace: shop}
spec:
  clusterIP: 10.96.0.6
  ipFamilies: [IPv5]
  ports: [{name: http, port: 80}]
`,
  );
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("knet proxy render", () => {
  it("prints the iptables-restore input for a node of the demo cluster (EndpointSlices derived from Pods)", async () => {
    const r = await run(["proxy", "render", "-f", DEMO, "--node", "node-a", "--cluster-cidr", "10.244.0.0/16"]);
    expect(r.err).toBe("");
    expect(r.code).toBe(0);
    expect(r.out.startsWith("*filter\n:KUBE-SERVICES - [0:0]\n")).toBe(true);
    const dns = iptablesServiceChains("kube-system/kube-dns:dns", "udp").svc;
    expect(r.out).toContain(
      `-A KUBE-SERVICES -m comment --comment "kube-system/kube-dns:dns cluster IP" -m udp -p udp -d 10.96.0.10 --dport 53 -j ${dns}`,
    );
    expect(r.out).toContain(
      "-A KUBE-NODEPORTS -m comment --comment shop/web:http -m tcp -p tcp --dport 30080 -j KUBE-EXT-",
    );
    expect(r.out).toContain("! -s 10.244.0.0/16 -j KUBE-MARK-MASQ");
    // parseable by our own iptables-restore reader, and headless/ExternalName services are absent
    expect(() => parseIptablesSave(r.out)).not.toThrow();
    expect(r.out).not.toContain("shop/db");
    expect(r.out).not.toContain("shop/payments");
  });

  it("--masquerade-all and --node-ip change the rules", async () => {
    const r = await run(["proxy", "render", "-f", slices, "--masquerade-all", "--node-ip", "192.168.1.5"]);
    expect(r.code).toBe(0);
    expect(r.out).toContain(
      '-A KUBE-SVC-NPX46M4PTMTKRN6Y -m comment --comment "default/kubernetes:https cluster IP" -m tcp -p tcp -d 10.96.0.1 --dport 443 -j KUBE-MARK-MASQ',
    );
    expect(r.out).toContain('-A KUBE-SERVICES -m comment --comment "default/empty:http has no endpoints"');
  });

  it("skips what kube-proxy cannot read, naming the object, its place and the field, and renders the rest", async () => {
    const a = await run(["proxy", "render", "-f", badSlice]);
    expect(a.code).toBe(0);
    expect(a.err).toBe(
      `knet proxy render: skipped EndpointSlice shop/web-abc endpoints[0].addresses[0] (${badSlice} document 2 (line 8)): Skipping invalid IP "10.244.1.999"\n` +
        `knet proxy render: 1 value skipped: run 'knet validate -f ${badSlice}' for every problem, or add --strict to fail instead\n`,
    );
    // The Service is still written, as kube-proxy writes it: with no endpoints.
    expect(a.out).toContain('"shop/web:http has no endpoints"');
    const b = await run(["proxy", "render", "-f", badFamily]);
    expect(b.code).toBe(0);
    expect(b.err).toMatch(
      /^knet proxy render: skipped Service shop\/odd \(.* document 1 \(line 1\)\): spec\.ipFamilies\[0\]: "IPv5"/,
    );
    expect(b.out).not.toContain("shop/odd");
  });

  it("--strict fails (exit 2) on the same input, printing nothing on stdout", async () => {
    // A bad address is one value kube-proxy skips; a bad ipFamilies entry makes the whole Service unusable.
    for (const [f, what] of [
      [badSlice, "value"],
      [badFamily, "object"],
    ] as const) {
      const r = await run(["proxy", "render", "--strict", "-f", f]);
      expect(r.code).toBe(2);
      expect(r.out).toBe("");
      expect(r.err).toMatch(/^knet proxy render: cannot use (EndpointSlice shop\/web-abc|Service shop\/odd) /);
      expect(r.err).toMatch(
        new RegExp(
          `\\nknet: proxy render: 1 ${what} cannot be used \\(--strict\\): run 'knet validate -f .*' for every problem\\n$`,
        ),
      );
    }
  });

  it("an unknown --node is an error naming the nodes that exist", async () => {
    const r = await run(["proxy", "render", "-f", DEMO, "--node", "node-z"]);
    expect(r.code).toBe(2);
    expect(r.err).toBe("knet: proxy render: unknown --node 'node-z': the manifests have node-a, node-b\n");
  });

  it("rejects an unknown mode naming the valid ones, and missing input", async () => {
    const r = await run(["proxy", "render", "--mode", "userspace", "-f", slices]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/^knet: proxy: unknown --mode 'userspace': use ([a-z]+, )*iptables(, [a-z]+)*\n$/);
    expect((await run(["proxy", "render", "--mode", "ipvs", "--mode", "iptables", "-f", slices])).err).toBe(
      "knet: proxy render: --mode given twice ('ipvs', 'iptables'): give it once\n",
    );
    expect((await run(["proxy", "render"])).code).toBe(2);
    expect((await run(["proxy", "frobnicate"])).code).toBe(2);
  });
});

describe("knet proxy trace", () => {
  it("prints the backend chosen and the rules visited", async () => {
    const r = await run([
      "proxy",
      "trace",
      "-f",
      slices,
      "--src",
      "10.244.1.5",
      "--dst",
      "10.96.0.1:443",
      "--seed",
      "3",
    ]);
    expect(r.err).toBe("");
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^verdict: DNAT to 172\.18\.0\.[23]:6443\n/);
    expect(r.out).toContain("nat/KUBE-SVC-NPX46M4PTMTKRN6Y");
    expect(r.out).toMatch(
      /\+ nat\/KUBE-SEP-\w+ #2 +-A KUBE-SEP-\w+ -m comment --comment default\/kubernetes:https -m tcp -p tcp -j DNAT/,
    );
  });

  it("--seed decides the backend reproducibly; --json gives the outcome and trace", async () => {
    const seen = new Set<string>();
    for (let seed = 1; seed <= 12; seed++) {
      const args = [
        "proxy",
        "trace",
        "-f",
        slices,
        "--src",
        "10.244.1.5",
        "--dst",
        "10.96.0.1:443",
        "--seed",
        String(seed),
        "--json",
      ];
      const a = await run(args);
      const b = await run(args);
      expect(a.out).toBe(b.out);
      const j = JSON.parse(a.out) as { outcome: { kind: string; backend: { ip: string } }; trace: unknown[] };
      expect(j.outcome.kind).toBe("dnat");
      seen.add(j.outcome.backend.ip);
      expect(j.trace.length).toBeGreaterThan(3);
    }
    expect([...seen].sort()).toEqual(["172.18.0.2", "172.18.0.3"]);
  });

  it("reports rejects with the rule's reason", async () => {
    const r = await run(["proxy", "trace", "-f", slices, "--src", "10.244.1.5", "--dst", "10.96.0.2:80"]);
    expect(r.code).toBe(0);
    expect(r.out.split("\n")[0]).toBe("verdict: REJECT: default/empty:http has no endpoints");
  });

  it("usage errors: bad --dst, missing --src, bad --proto", async () => {
    expect((await run(["proxy", "trace", "-f", slices, "--src", "10.0.0.1", "--dst", "10.96.0.1"])).err).toMatch(
      /--dst '10.96.0.1'/,
    );
    expect((await run(["proxy", "trace", "-f", slices, "--dst", "10.96.0.1:443"])).code).toBe(2);
    expect(
      (await run(["proxy", "trace", "-f", slices, "--src", "10.0.0.1", "--dst", "10.96.0.1:443", "--proto", "icmp"]))
        .code,
    ).toBe(2);
  });
});

describe("knet proxy render --mode iptables --bootstrap", () => {
  it("adds the built-in chains' jumps, so the output alone evaluates: a pod's packet to a ClusterIP is DNATed", async () => {
    const args = ["proxy", "render", "-f", DEMO, "--node", "node-a", "--cluster-cidr", "10.244.0.0/16"];
    const plain = await run(args);
    const boot = await run([...args, "--bootstrap"]);
    expect(boot.code).toBe(0);
    expect(boot.err).toBe("");
    // The payload alone has no way in from the built-in chains.
    expect(plain.out).not.toMatch(/^-A (PREROUTING|OUTPUT) /m);
    for (const jump of [
      '-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
      '-A OUTPUT -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
      '-A POSTROUTING -m comment --comment "kubernetes postrouting rules" -j KUBE-POSTROUTING',
      '-A FORWARD -m comment --comment "kubernetes forwarding rules" -j KUBE-FORWARD',
    ])
      expect(boot.out).toContain(jump);
    expect(boot.out).toMatch(/^:PREROUTING ACCEPT \[0:0\]$/m);
    const evalPlain = new IptablesEvaluator(parseIptablesSave(plain.out), { localAddresses: ["192.168.49.2"] });
    const evalBoot = new IptablesEvaluator(parseIptablesSave(boot.out), { localAddresses: ["192.168.49.2"] });
    const packet = { src: "10.244.1.10", dst: "10.96.0.10", protocol: "udp", dport: 53, origin: "remote" } as const;
    expect(evalPlain.evaluate(packet).dnat).toBeUndefined();
    const v = evalBoot.evaluate(packet);
    expect(v.verdict).toBe("accept");
    expect(v.dnat?.port).toBe(53);
    expect(v.dnat?.addr.toString()).toMatch(/^10\.244\./);
    // Every rule of the payload is in the complete ruleset.
    const rules = (t: string) => new Set(t.split("\n").filter((l) => l.startsWith("-A ")));
    const all = rules(boot.out);
    for (const r of rules(plain.out)) expect(all.has(r), r).toBe(true);
  });
});

describe("knet proxy render reads addresses as kube-proxy does", () => {
  it("172.30.0.041 is 172.30.0.41 and 203.0.113.000/025 is 203.0.113.0/25, written canonically", async () => {
    const d = await mkdtemp(join(tmpdir(), "knet-sloppy-"));
    const f = join(d, "sloppy.yaml");
    await writeFile(
      f,
      `apiVersion: v1
kind: Service
metadata: {name: lb, namespace: shop}
spec:
  type: LoadBalancer
  clusterIP: 172.30.0.041
  loadBalancerSourceRanges: [203.0.113.000/025]
  ports: [{name: http, port: 80, nodePort: 30080}]
status:
  loadBalancer: {ingress: [{ip: 198.51.100.007}]}
---
apiVersion: v1
kind: Service
metadata: {name: broken, namespace: shop}
spec:
  clusterIP: 10.96.0.300
  ports: [{name: http, port: 80}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: lb-1, namespace: shop, labels: {kubernetes.io/service-name: lb}}
addressType: IPv4
ports: [{name: http, port: 8080}]
endpoints:
- addresses: [10.244.1.010]
`,
    );
    const r = await run(["proxy", "render", "-f", f]);
    const strict = await run(["proxy", "render", "--strict", "-f", f]);
    const validate = await run(["validate", "-f", f]);
    await rm(d, { recursive: true, force: true });
    expect(r.code).toBe(0);
    expect(r.out).toContain("-d 172.30.0.41 --dport 80");
    expect(r.out).toContain("-s 203.0.113.0/25");
    expect(r.out).toContain("-d 198.51.100.7 --dport 80");
    expect(r.out).toContain("--to-destination 10.244.1.10:8080");
    expect(r.out).not.toMatch(/172\.30\.0\.041|10\.96\.0\.300|shop\/broken/);
    expect(r.err).toBe(
      `knet proxy render: skipped Service shop/broken spec.clusterIPs[0] (${f} document 2 (line 12)): Skipping invalid IP "10.96.0.300"\n` +
        `knet proxy render: 1 value skipped: run 'knet validate -f ${f}' for every problem, or add --strict to fail instead\n`,
    );
    expect(strict.code).toBe(2);
    expect(strict.out).toBe("");
    // knet validate still reports the values as the API server does for each field.
    expect(validate.code).toBe(1);
    for (const [field, value] of [
      ["spec.clusterIPs[0]", "172.30.0.041"],
      ["spec.loadBalancerSourceRanges[0]", "203.0.113.000/025"],
      ["spec.clusterIPs[0]", "10.96.0.300"],
      ["endpoints[0].addresses[0]", "10.244.1.010"],
    ])
      expect(validate.out + validate.err).toContain(`${field}: Invalid value: "${value}"`);
  });
});

describe("knet proxy render: a bad Node InternalIP", () => {
  it("is reported as the Node's field, not as --node-ip", async () => {
    const d = await mkdtemp(join(tmpdir(), "knet-nodeip-"));
    const f = join(d, "node.yaml");
    await writeFile(
      f,
      `apiVersion: v1
kind: Node
metadata: {name: node-a}
status: {addresses: [{type: Hostname, address: node-a}, {type: InternalIP, address: 192.168.1.300}]}
`,
    );
    const r = await run(["proxy", "render", "-f", f]);
    const flag = await run(["proxy", "render", "-f", f, "--node-ip", "192.168.1.5"]);
    const badFlag = await run(["proxy", "render", "-f", f, "--node-ip", "192.168.1.500"]);
    await rm(d, { recursive: true, force: true });
    expect(r.code).toBe(2);
    expect(r.err).toMatch(
      /^knet: proxy render: Node\/node-a status\.addresses\[1\]\.address: .*192\.168\.1\.300.*give --node-ip\)\n$/,
    );
    expect(r.err).not.toContain("--node-ip:");
    expect(flag.code).toBe(0);
    expect(badFlag.code).toBe(2);
    expect(badFlag.err).toMatch(/^knet: proxy render: --node-ip: .*192\.168\.1\.500/);
  });
});

describe("every proxy mode writes the rest of the node when an address is skipped", () => {
  registerBundledModes();
  const modes = proxyModes().map((m) => m.name);
  it("covers the bundled modes", () => expect([...modes].sort()).toEqual(["ebpf", "iptables", "ipvs", "nftables"]));
  const manifest = `apiVersion: v1
kind: Service
metadata: {name: lb, namespace: shop}
spec:
  type: LoadBalancer
  clusterIP: 172.30.0.041
  externalIPs: [192.0.2.010, 192.0.2.999]
  loadBalancerSourceRanges: [203.0.113.000/025, 10.0.0.0/33]
  ports: [{name: http, port: 80, nodePort: 30080}]
status:
  loadBalancer: {ingress: [{ip: 198.51.100.007}]}
---
apiVersion: v1
kind: Service
metadata: {name: broken, namespace: shop}
spec:
  clusterIP: 10.96.0.300
  ports: [{name: http, port: 80}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: lb-1, namespace: shop, labels: {kubernetes.io/service-name: lb}}
addressType: IPv4
ports: [{name: http, port: 8080}]
endpoints:
- addresses: [10.244.1.010]
- addresses: [10.244.1.999]
- addresses: [10.244.2.3]
`;
  let f = "";
  beforeAll(async () => {
    f = join(dir, "skips-all-modes.yaml");
    await writeFile(f, manifest);
  });
  const skipped = [
    'Service shop/lb spec.externalIPs[1] (FILE document 1 (line 1)): Skipping invalid IP "192.0.2.999"',
    'Service shop/lb spec.loadBalancerSourceRanges[1] (FILE document 1 (line 1)): Invalid CIDR ignored "10.0.0.0/33"',
    'Service shop/broken spec.clusterIPs[0] (FILE document 2 (line 13)): Skipping invalid IP "10.96.0.300"',
    'EndpointSlice shop/lb-1 endpoints[1].addresses[0] (FILE document 3 (line 20)): Skipping invalid IP "10.244.1.999"',
  ];
  const backend = /^verdict: DNAT to 10\.244\.(1\.10|2\.3):8080/;
  // [destination, source, what the packet should meet]
  const packets: [string, string, RegExp][] = [
    ["172.30.0.41:80", "10.244.3.5", backend],
    ["192.0.2.10:80", "10.244.3.5", backend],
    ["198.51.100.7:80", "203.0.113.100", backend], // 203.0.113.000/025 is read as 203.0.113.0/25
    ["198.51.100.7:80", "203.0.113.200", /^verdict: DROP/],
  ];
  it.each(modes)("--mode %s", async (mode) => {
    const r = await run(["proxy", "render", "-f", f, "--mode", mode, "--cluster-cidr", "10.244.0.0/16"]);
    expect(r.code).toBe(0);
    expect(r.out.length).toBeGreaterThan(0);
    expect(r.out).not.toMatch(/192\.0\.2\.999|10\.96\.0\.300|10\.244\.1\.999|0\.0\/33|\.0?0[0-9]\b/);
    expect(r.err.split("\n").slice(0, -2)).toEqual(
      skipped.map((l) => `knet proxy render: skipped ${l.replace("FILE", f)}`),
    );
    for (const [dst, src, want] of packets) {
      const t = await run([
        "proxy",
        "trace",
        "-f",
        f,
        "--mode",
        mode,
        "--cluster-cidr",
        "10.244.0.0/16",
        "--src",
        src,
        "--dst",
        dst,
      ]);
      expect(t.code, `${mode} ${src} -> ${dst}`).toBe(0);
      expect(t.out, `${mode} ${src} -> ${dst}`).toMatch(want);
    }
  });
});

describe("knet proxy render|trace --config (kube-proxy's KubeProxyConfiguration)", () => {
  const HEAD = "apiVersion: kubeproxy.config.k8s.io/v1alpha1\nkind: KubeProxyConfiguration\n";
  const NODE = ["-f", DEMO, "--node", "node-a"];
  let files: Record<string, string> = {};
  beforeAll(async () => {
    const write = async (name: string, body: string): Promise<string> => {
      const f = join(dir, name);
      await writeFile(f, body);
      return f;
    };
    files = {
      tuned: await write(
        "kp-tuned.yaml",
        `${HEAD}clusterCIDR: 10.244.0.0/16
nodePortAddresses: [192.168.49.0/24]
iptables: {masqueradeAll: true, masqueradeBit: 4, localhostNodePorts: false}
`,
      ),
      bridge: await write(
        "kp-bridge.yaml",
        `${HEAD}clusterCIDR: 10.244.0.0/16\ndetectLocalMode: BridgeInterface\ndetectLocal: {bridgeInterface: cbr0}\n`,
      ),
      cluster: await write("kp-cluster.json", JSON.stringify({ ...kpHead(), clusterCIDR: "10.244.0.0/16" })),
      ipvs: await write(
        "kp-ipvs.yaml",
        `${HEAD}mode: ipvs\nipvs: {scheduler: sh}\nconntrack: {tcpBeLiberal: true}\nclusterCIDR: 10.244.0.0/16\n`,
      ),
      bad: await write("kp-bad.yaml", `${HEAD}mode: userspace\niptables:\n  masqueradeBit: 32\n`),
      unknown: await write("kp-unknown.yaml", `${HEAD}iptables:\n  masqueradeBits: 4\n`),
    };
  });
  function kpHead(): Record<string, string> {
    return { apiVersion: "kubeproxy.config.k8s.io/v1alpha1", kind: "KubeProxyConfiguration" };
  }
  const render = (...args: string[]) => run(["proxy", "render", ...NODE, ...args]);

  it("masqueradeBit, masqueradeAll, nodePortAddresses and localhostNodePorts change the rules", async () => {
    const plain = await render();
    const tuned = await render("--config", files.tuned as string);
    expect(tuned.err).toBe("");
    expect(tuned.code).toBe(0);
    // masqueradeBit 4: the mark is 0x10 (default bit 14: 0x4000).
    expect(plain.out).toContain("-A KUBE-MARK-MASQ -j MARK --or-mark 0x00004000");
    expect(tuned.out).toContain("-A KUBE-MARK-MASQ -j MARK --or-mark 0x00000010");
    expect(tuned.out).not.toContain("0x00004000");
    // masqueradeAll: every ClusterIP rule marks for masquerade, with no local-traffic test.
    const clusterIP =
      '-A KUBE-SVC-RUKNB3TURLFC6SGL -m comment --comment "shop/api:http cluster IP" -m tcp -p tcp -d 10.96.100.10 --dport 80';
    expect(tuned.out).toContain(`${clusterIP} -j KUBE-MARK-MASQ`);
    expect(plain.out).not.toContain(`${clusterIP} -j KUBE-MARK-MASQ`);
    // nodePortAddresses: NodePorts only on the node's address in 192.168.49.0/24, not every local address.
    const nodePorts = '"kubernetes service nodeports; NOTE: this must be the last rule in this chain"';
    expect(plain.out).toContain(`${nodePorts} -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS`);
    expect(tuned.out).toContain(`${nodePorts} -d 192.168.49.2 -j KUBE-NODEPORTS`);
    // localhostNodePorts: false: no KUBE-FIREWALL guard for localhost NodePorts.
    expect(plain.out).toContain(":KUBE-FIREWALL - [0:0]");
    expect(tuned.out).not.toContain("KUBE-FIREWALL");
  });

  it("detectLocalMode: ClusterCIDR tests the source CIDR, BridgeInterface the input interface (YAML or JSON)", async () => {
    const rule =
      '-A KUBE-SVC-RUKNB3TURLFC6SGL -m comment --comment "shop/api:http cluster IP" -m tcp -p tcp -d 10.96.100.10 --dport 80';
    const cluster = await render("--config", files.cluster as string);
    const bridge = await render("--config", files.bridge as string);
    expect(cluster.out).toContain(`${rule} ! -s 10.244.0.0/16 -j KUBE-MARK-MASQ`);
    expect(bridge.out).toContain(`${rule} ! -i cbr0 -j KUBE-MARK-MASQ`);
    expect(bridge.out).not.toContain("! -s 10.244.0.0/16");
  });

  it("mode, ipvs.scheduler and conntrack.tcpBeLiberal come from the file; flags override it", async () => {
    const ipvs = await render("--config", files.ipvs as string);
    expect(ipvs.code).toBe(0);
    expect(ipvs.out).toContain("-A -t 10.96.100.10:80 -s sh");
    // --mode overrides the file's mode; tcpBeLiberal means no INVALID-drop rule in iptables mode.
    const ipt = await render("--config", files.ipvs as string, "--mode", "iptables");
    expect(ipt.out).toContain("*nat");
    expect(ipt.out).not.toContain("--ctstate INVALID");
    expect((await render()).out).toContain("-A KUBE-FORWARD -m conntrack --ctstate INVALID -j DROP");
    // --cluster-cidr and --masquerade-all override the file.
    const over = await render("--config", files.cluster as string, "--cluster-cidr", "10.200.0.0/16");
    expect(over.out).toContain("! -s 10.200.0.0/16 -j KUBE-MARK-MASQ");
    expect(over.out).not.toContain("10.244.0.0/16");
    const masq = await render("--config", files.cluster as string, "--masquerade-all");
    expect(masq.out).toContain(
      '-A KUBE-SVC-RUKNB3TURLFC6SGL -m comment --comment "shop/api:http cluster IP" -m tcp -p tcp -d 10.96.100.10 --dport 80 -j KUBE-MARK-MASQ',
    );
  });

  it("trace reads it too: the mode comes from the file", async () => {
    const t = await run([
      "proxy",
      "trace",
      ...NODE,
      "--config",
      files.ipvs as string,
      "--src",
      "10.244.1.5",
      "--dst",
      "10.96.100.10:80",
      "-o",
      "json",
    ]);
    expect(t.code).toBe(0);
    expect(JSON.parse(t.out).mode).toBe("ipvs");
  });

  it("problems are kube-proxy's messages, all of them, exit 2; a flag that overrides a field drops its problem", async () => {
    const bad = await render("--config", files.bad as string);
    expect(bad.code).toBe(2);
    expect(bad.out).toBe("");
    expect(bad.err).toBe(
      `knet: proxy render: --config ${files.bad}: kube-proxy would not start with it:\n` +
        "  KubeProxyConfiguration.KubeProxyIPTablesConfiguration.MasqueradeBit: Invalid value: 32: must be within the range [0, 31]\n" +
        '  KubeProxyConfiguration.Mode.ProxyMode: Invalid value: "userspace": must be iptables, ipvs, nftables or blank (blank means the best-available proxy [currently iptables])\n',
    );
    const overridden = await render("--config", files.bad as string, "--mode", "iptables");
    expect(overridden.err).not.toContain("ProxyMode");
    expect(overridden.err).toContain("MasqueradeBit: Invalid value: 32");
    const unknown = await render("--config", files.unknown as string);
    expect(unknown.code).toBe(2);
    expect(unknown.err).toContain('\n  strict decoding error: unknown field "iptables.masqueradeBits"\n');
    const missing = await render("--config", join(dir, "no-such.yaml"));
    expect(missing.code).toBe(2);
    expect(missing.err).toMatch(/--config .*no-such\.yaml: ENOENT/);
  });
});

describe("knet proxy render: what kube-proxy detects on the host", () => {
  const NODE = ["proxy", "render", "-f", DEMO, "--node", "node-a", "--cluster-cidr", "10.244.0.0/16"];
  it.each([
    [["--nfacct"], "-m nfacct --nfacct-name ct_state_invalid_dropped_pkts -j DROP", true],
    [["--nfacct"], "-m nfacct --nfacct-name localhost_nps_accepted_pkts", true],
    [["--no-random-fully"], "-j MASQUERADE --random-fully", false],
    [["--conntrack-tcp-be-liberal"], "--ctstate INVALID", false],
    [["--mode", "ipvs", "--no-random-fully"], "--random-fully", false],
    [["--mode", "nftables", "--service-cidr", "10.96.0.0/16"], "10.96.0.0/16", true],
  ])("%j", async (flags, text, present) => {
    const without = await run([...NODE, ...flags.filter((f) => f === "--mode" || f === "ipvs" || f === "nftables")]);
    const r = await run([...NODE, ...flags]);
    expect(r.code).toBe(0);
    expect(r.out.includes(text)).toBe(present);
    expect(without.out.includes(text)).toBe(!present);
  });
  it("a flag the mode does not read, or a bad CIDR, is an error", async () => {
    const a = await run([...NODE, "--mode", "nftables", "--nfacct"]);
    expect(a.code).toBe(2);
    expect(a.err).toBe("knet: proxy: --nfacct is for --mode iptables\n");
    const b = await run([...NODE, "--mode", "nftables", "--service-cidr", "10.96.0.0/33"]);
    expect(b.code).toBe(2);
    expect(b.err).toMatch(/--service-cidr: .*10\.96\.0\.0\/33/);
  });
});

describe("knet proxy render --help", () => {
  it("documents --config and the host-detection flags", async () => {
    const r = await run(["proxy", "render", "--help"]);
    expect(r.code).toBe(0);
    for (const flag of [
      "--config FILE",
      "--nfacct",
      "--no-random-fully",
      "--conntrack-tcp-be-liberal",
      "--service-cidr CIDR",
    ])
      expect(r.out).toContain(flag);
    expect(r.out).toContain("KubeProxyConfiguration");
  });
});
