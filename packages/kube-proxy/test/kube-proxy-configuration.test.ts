import {
  type KubeProxyConfiguration,
  kubeProxyEngineOptions,
  kubeProxyProxyConfigInput,
  parseKubeProxyConfiguration,
  proxyConfig,
} from "@knet/kube-proxy";
import { Addr } from "@knet/netstack";
import fc from "fast-check";
import { describe, expect, it } from "vitest";

const HEAD = "apiVersion: kubeproxy.config.k8s.io/v1alpha1\nkind: KubeProxyConfiguration\n";

function ok(body: string): KubeProxyConfiguration {
  const r = parseKubeProxyConfiguration(HEAD + body);
  expect(r.problems).toEqual([]);
  return r.config;
}

function messages(body: string, head = HEAD): string[] {
  return parseKubeProxyConfiguration(head + body).problems.map((p) => p.message);
}

// kubeadm writes every field, most of them zero or null; kube-proxy defaults them.
const KUBEADM = `${HEAD}bindAddress: 0.0.0.0
bindAddressHardFail: false
clientConnection:
  acceptContentTypes: ""
  burst: 0
  contentType: ""
  kubeconfig: /var/lib/kube-proxy/kubeconfig.conf
  qps: 0
clusterCIDR: 10.244.0.0/16
configSyncPeriod: 0s
conntrack:
  maxPerCore: null
  min: null
  tcpBeLiberal: false
  tcpCloseWaitTimeout: null
  tcpEstablishedTimeout: null
  udpStreamTimeout: 0s
  udpTimeout: 0s
detectLocal:
  bridgeInterface: ""
  interfaceNamePrefix: ""
detectLocalMode: ""
enableProfiling: false
healthzBindAddress: ""
hostnameOverride: ""
iptables:
  localhostNodePorts: null
  masqueradeAll: false
  masqueradeBit: null
  minSyncPeriod: 0s
  syncPeriod: 0s
ipvs:
  excludeCIDRs: null
  minSyncPeriod: 0s
  scheduler: ""
  strictARP: false
  syncPeriod: 0s
  tcpFinTimeout: 0s
  tcpTimeout: 0s
  udpTimeout: 0s
logging:
  flushFrequency: 0
  options:
    json:
      infoBufferSize: "0"
    text:
      infoBufferSize: "0"
  verbosity: 0
metricsBindAddress: ""
mode: ""
nftables:
  masqueradeAll: false
  masqueradeBit: null
  minSyncPeriod: 0s
  syncPeriod: 0s
nodePortAddresses: null
oomScoreAdj: null
portRange: ""
showHiddenMetricsForVersion: ""
winkernel:
  enableDSR: false
  forwardHealthCheckVip: false
  networkName: ""
  rootHnsEndpointName: ""
  sourceVip: ""
`;

describe("parseKubeProxyConfiguration: defaults (defaults.go)", () => {
  const empty = ok("");
  const kubeadm = parseKubeProxyConfiguration(KUBEADM);
  it("kubeadm's configmap, every field zero or null, reads without problems", () =>
    expect(kubeadm.problems).toEqual([]));
  it.each([
    ["mode", (c: KubeProxyConfiguration) => c.mode, ""],
    ["bindAddress", (c: KubeProxyConfiguration) => c.bindAddress, "0.0.0.0"],
    ["iptables.masqueradeBit", (c: KubeProxyConfiguration) => c.iptables.masqueradeBit, 14],
    ["iptables.masqueradeAll", (c: KubeProxyConfiguration) => c.iptables.masqueradeAll, false],
    ["iptables.localhostNodePorts", (c: KubeProxyConfiguration) => c.iptables.localhostNodePorts, true],
    ["iptables.syncPeriod", (c: KubeProxyConfiguration) => c.iptables.syncPeriodMs, 30_000],
    ["iptables.minSyncPeriod", (c: KubeProxyConfiguration) => c.iptables.minSyncPeriodMs, 1_000],
    ["ipvs.syncPeriod", (c: KubeProxyConfiguration) => c.ipvs.syncPeriodMs, 30_000],
    ["ipvs.minSyncPeriod", (c: KubeProxyConfiguration) => c.ipvs.minSyncPeriodMs, 0],
    ["ipvs.scheduler", (c: KubeProxyConfiguration) => c.ipvs.scheduler, ""],
    ["ipvs.tcpTimeout", (c: KubeProxyConfiguration) => c.ipvs.tcpTimeoutMs, 0],
    ["nftables.masqueradeBit", (c: KubeProxyConfiguration) => c.nftables.masqueradeBit, 14],
    ["nftables.syncPeriod", (c: KubeProxyConfiguration) => c.nftables.syncPeriodMs, 30_000],
    ["nftables.minSyncPeriod", (c: KubeProxyConfiguration) => c.nftables.minSyncPeriodMs, 1_000],
    ["conntrack.maxPerCore", (c: KubeProxyConfiguration) => c.conntrack.maxPerCore, 32_768],
    ["conntrack.min", (c: KubeProxyConfiguration) => c.conntrack.min, 131_072],
    ["conntrack.tcpEstablishedTimeout", (c: KubeProxyConfiguration) => c.conntrack.tcpEstablishedTimeoutMs, 86_400_000],
    ["conntrack.tcpCloseWaitTimeout", (c: KubeProxyConfiguration) => c.conntrack.tcpCloseWaitTimeoutMs, 3_600_000],
    ["conntrack.tcpBeLiberal", (c: KubeProxyConfiguration) => c.conntrack.tcpBeLiberal, false],
    ["conntrack.udpTimeout", (c: KubeProxyConfiguration) => c.conntrack.udpTimeoutMs, 0],
    ["nodePortAddresses", (c: KubeProxyConfiguration) => c.nodePortAddresses, []],
  ])("%s", (_field, get, want) => {
    expect(get(empty)).toEqual(want);
    expect(get(kubeadm.config)).toEqual(want);
  });
  it("values given are kept, durations in Go's syntax; conntrack's explicit 0 stays 0", () => {
    const c = ok(`mode: ipvs
iptables: {masqueradeBit: 4, masqueradeAll: true, localhostNodePorts: false, syncPeriod: 1m30s, minSyncPeriod: 250ms}
ipvs: {scheduler: sh, strictARP: true, tcpTimeout: 1h, tcpFinTimeout: 30s, udpTimeout: 1.5s, excludeCIDRs: [10.0.0.0/8]}
conntrack: {maxPerCore: 0, tcpEstablishedTimeout: 0s, tcpBeLiberal: true}
clusterCIDR: 10.244.0.0/16,fd00:10:244::/56
`);
    expect(c.iptables).toEqual({
      masqueradeBit: 4,
      masqueradeAll: true,
      localhostNodePorts: false,
      syncPeriodMs: 90_000,
      minSyncPeriodMs: 250,
    });
    expect(c.ipvs).toMatchObject({ scheduler: "sh", strictARP: true, tcpTimeoutMs: 3_600_000, udpTimeoutMs: 1500 });
    expect(c.conntrack).toMatchObject({ maxPerCore: 0, tcpEstablishedTimeoutMs: 0, tcpBeLiberal: true });
    expect(c.clusterCIDRs).toEqual(["10.244.0.0/16", "fd00:10:244::/56"]);
  });
  it("JSON is read as well as YAML", () => {
    const r = parseKubeProxyConfiguration(
      JSON.stringify({
        apiVersion: "kubeproxy.config.k8s.io/v1alpha1",
        kind: "KubeProxyConfiguration",
        mode: "nftables",
        nftables: { masqueradeBit: 3 },
      }),
    );
    expect(r.problems).toEqual([]);
    expect(r.config.mode).toBe("nftables");
    expect(r.config.nftables.masqueradeBit).toBe(3);
  });
});

describe("parseKubeProxyConfiguration: validation messages (validation.go)", () => {
  const C = "KubeProxyConfiguration";
  const CT = `${C}.KubeProxyLinuxConfiguration.KubeProxyConntrackConfiguration`;
  it.each([
    [
      "iptables: {masqueradeBit: 32}",
      `${C}.KubeProxyIPTablesConfiguration.MasqueradeBit: Invalid value: 32: must be within the range [0, 31]`,
    ],
    [
      "iptables: {masqueradeBit: -1}",
      `${C}.KubeProxyIPTablesConfiguration.MasqueradeBit: Invalid value: -1: must be within the range [0, 31]`,
    ],
    [
      "mode: nftables\nnftables: {masqueradeBit: 40}",
      `${C}.KubeProxyNFTablesConfiguration.MasqueradeBit: Invalid value: 40: must be within the range [0, 31]`,
    ],
    [
      "mode: ipvs\nipvs: {tcpTimeout: -1s}",
      `${C}.KubeProxyIPVSConfiguration.TCPTimeout: Invalid value: -1s: must be greater than or equal to 0`,
    ],
    [
      "mode: ipvs\nipvs: {tcpFinTimeout: -2m}",
      `${C}.KubeProxyIPVSConfiguration.TCPFinTimeout: Invalid value: -2m0s: must be greater than or equal to 0`,
    ],
    [
      "mode: ipvs\nipvs: {udpTimeout: -500ms}",
      `${C}.KubeProxyIPVSConfiguration.UDPTimeout: Invalid value: -500ms: must be greater than or equal to 0`,
    ],
    [
      "mode: ipvs\nipvs: {excludeCIDRs: [10.0.0.0/8, 10.0.0.0/33]}",
      `${C}.KubeProxyIPVSConfiguration.ExcludeCidrs[1]: Invalid value: "10.0.0.0/33": must be a valid CIDR`,
    ],
    ["conntrack: {maxPerCore: -1}", `${CT}.MaxPerCore: Invalid value: -1: must be greater than or equal to 0`],
    ["conntrack: {min: -1}", `${CT}.Min: Invalid value: -1: must be greater than or equal to 0`],
    [
      "conntrack: {tcpEstablishedTimeout: -1h}",
      `${CT}.TCPEstablishedTimeout: Invalid value: -1h0m0s: must be greater than or equal to 0`,
    ],
    [
      "conntrack: {tcpCloseWaitTimeout: -1s}",
      `${CT}.TCPCloseWaitTimeout: Invalid value: -1s: must be greater than or equal to 0`,
    ],
    ["conntrack: {udpTimeout: -1s}", `${CT}.UDPTimeout: Invalid value: -1s: must be greater than or equal to 0`],
    [
      "conntrack: {udpStreamTimeout: -1s}",
      `${CT}.UDPStreamTimeout: Invalid value: -1s: must be greater than or equal to 0`,
    ],
    [
      "mode: userspace",
      `${C}.Mode.ProxyMode: Invalid value: "userspace": must be iptables, ipvs, nftables or blank (blank means the best-available proxy [currently iptables])`,
    ],
    [
      "iptables: {syncPeriod: -1s}",
      [
        `${C}.SyncPeriod: Invalid value: -1s: must be greater than 0`,
        `${C}.SyncPeriod: Invalid value: 1s: must be greater than or equal to ${C}.MinSyncPeriod`,
      ],
    ],
    ["iptables: {minSyncPeriod: -1s}", `${C}.MinSyncPeriod: Invalid value: -1s: must be greater than or equal to 0`],
    [
      "iptables: {syncPeriod: 10s, minSyncPeriod: 1m}",
      `${C}.SyncPeriod: Invalid value: 1m0s: must be greater than or equal to ${C}.MinSyncPeriod`,
    ],
    [
      "mode: ipvs\nipvs: {syncPeriod: 5s, minSyncPeriod: 6s}",
      `${C}.SyncPeriod: Invalid value: 6s: must be greater than or equal to ${C}.MinSyncPeriod`,
    ],
    [
      "bindAddress: 10.0.0.300",
      `${C}.BindAddress: Invalid value: "10.0.0.300": not a valid textual representation of an IP address`,
    ],
    ["nodePortAddresses: [10.0.0.0/8, nope]", `${C}.NodePortAddresses[1]: Invalid value: "nope": must be a valid CIDR`],
    [
      "nodePortAddresses: [10.0.0.0/8, primary]",
      `${C}.NodePortAddresses[1]: Invalid value: "primary": can't use both 'primary' and CIDRs`,
    ],
    [
      "detectLocalMode: Magic",
      `${C}.DetectLocalMode: Unsupported value: "Magic": supported values: "ClusterCIDR", "NodeCIDR", "BridgeInterface", "InterfaceNamePrefix", ""`,
    ],
    [
      "detectLocalMode: BridgeInterface",
      `${C}.DetectLocalConfiguration.InterfaceName: Invalid value: "": must not be empty`,
    ],
    [
      "detectLocalMode: InterfaceNamePrefix",
      `${C}.DetectLocalConfiguration.InterfacePrefix: Invalid value: "": must not be empty`,
    ],
    [
      "clusterCIDR: 10.244.0.0/33",
      `${C}.DetectLocalConfiguration.ClusterCIDRs[0]: Invalid value: "10.244.0.0/33": must be a valid CIDR block (e.g. 10.100.0.0/16 or fde4:8dba:82e1::/48)`,
    ],
    [
      "clusterCIDR: 10.1.0.0/16,10.2.0.0/16",
      `${C}.DetectLocalConfiguration.ClusterCIDRs: Invalid value: []string{"10.1.0.0/16", "10.2.0.0/16"}: must be a either a single CIDR or dual-stack pair of CIDRs (e.g. [10.100.0.0/16, fde4:8dba:82e1::/48]`,
    ],
    [
      "clusterCIDR: 10.1.0.0/16,fd00::/48,10.3.0.0/16",
      `${C}.DetectLocalConfiguration.ClusterCIDRs: Invalid value: []string{"10.1.0.0/16", "fd00::/48", "10.3.0.0/16"}: must be a either a single CIDR or dual-stack pair of CIDRs (e.g. [10.100.0.0/16, fde4:8dba:82e1::/48]`,
    ],
  ])("%s", (body, message) => {
    expect(messages(body)).toEqual([message].flat());
  });
  it("each mode's section is validated only in that mode, as kube-proxy does", () => {
    expect(messages("nftables: {masqueradeBit: 40}")).toEqual([]);
    expect(messages("ipvs: {tcpTimeout: -1s}")).toEqual([]);
    expect(messages("mode: nftables\niptables: {syncPeriod: -1s}")).toEqual([]);
  });
  it("sloppy addresses are read as kube-proxy reads them", () => {
    expect(messages("bindAddress: 010.000.000.001\nclusterCIDR: 010.244.0.0/016")).toEqual([]);
  });
  it("each problem names the v1alpha1 field it comes from (so a flag that overrides it can drop it)", () => {
    const r = parseKubeProxyConfiguration(`${HEAD}mode: userspace\niptables: {masqueradeBit: 99}\n`);
    expect(r.problems.map((p) => p.field).sort()).toEqual(["iptables.masqueradeBit", "mode"]);
  });
});

describe("parseKubeProxyConfiguration: strict decoding", () => {
  it.each([
    ["masqueradeAll: true", 'strict decoding error: unknown field "masqueradeAll"', "masqueradeAll"],
    [
      "iptables: {masqueradeBits: 14}",
      'strict decoding error: unknown field "iptables.masqueradeBits"',
      "iptables.masqueradeBits",
    ],
    ["conntrack: {max: 0}", 'strict decoding error: unknown field "conntrack.max"', "conntrack.max"],
    ["detectLocal: {bridge: cbr0}", 'strict decoding error: unknown field "detectLocal.bridge"', "detectLocal.bridge"],
    [
      "iptables: {masqueradeBit: fourteen}",
      'cannot decode string "fourteen" into field iptables.masqueradeBit: want an integer (int32)',
      "iptables.masqueradeBit",
    ],
    [
      "iptables: {masqueradeAll: 1}",
      "cannot decode number 1 into field iptables.masqueradeAll: want true or false",
      "iptables.masqueradeAll",
    ],
    [
      "iptables: {syncPeriod: 30}",
      'cannot decode number 30 into field iptables.syncPeriod: want a duration such as "30s"',
      "iptables.syncPeriod",
    ],
    [
      "iptables: {syncPeriod: 30 seconds}",
      'iptables.syncPeriod: time: invalid duration "30 seconds"',
      "iptables.syncPeriod",
    ],
    [
      "nodePortAddresses: 10.0.0.0/8",
      'cannot decode string "10.0.0.0/8" into field nodePortAddresses: want a list of strings',
      "nodePortAddresses",
    ],
    ["iptables: true", "cannot decode boolean into field iptables: want an object", "iptables"],
  ])("%s", (body, message, field) => {
    const r = parseKubeProxyConfiguration(HEAD + body);
    expect(r.problems.map((p) => [p.field, p.message])).toEqual([[field, message]]);
  });
  it("a wrong kind or apiVersion, an empty file, several documents and YAML syntax errors are reported", () => {
    expect(messages("", "apiVersion: kubeproxy.config.k8s.io/v1alpha2\nkind: KubeProxyConfiguration\n")[0]).toMatch(
      /no kind "KubeProxyConfiguration" is registered for version "kubeproxy.config.k8s.io\/v1alpha2"/,
    );
    expect(messages("", "apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\n")[0]).toMatch(
      /want apiVersion: kubeproxy.config.k8s.io\/v1alpha1 and kind: KubeProxyConfiguration/,
    );
    expect(messages("", "")).toEqual(["the file is empty: want one KubeProxyConfiguration document"]);
    expect(messages(`---\n${HEAD}`)[0]).toMatch(/holds 2 documents/);
    const syntax = parseKubeProxyConfiguration(`${HEAD}iptables:\n  masqueradeBit: [\n`).problems;
    expect(syntax.length).toBeGreaterThan(0);
    expect(syntax[0]?.line).toBeGreaterThanOrEqual(3);
  });
});

describe("kubeProxyProxyConfigInput / kubeProxyEngineOptions", () => {
  const node = {
    family: 4 as const,
    nodeIPs: [Addr.parse("192.168.1.5"), Addr.parse("fd00::5")],
    podCIDRs: ["10.244.3.0/24"],
  };
  it("the mode's masquerade settings, clusterCIDR, detectLocal, nodePortAddresses and sync periods", () => {
    const c = ok(`clusterCIDR: 10.244.0.0/16,fd00:10:244::/56
iptables: {masqueradeBit: 4, masqueradeAll: true, localhostNodePorts: false, syncPeriod: 10s}
nftables: {masqueradeBit: 9, minSyncPeriod: 2s}
nodePortAddresses: [192.168.0.0/16, fd00::/8]
`);
    const ipt = proxyConfig({ ...kubeProxyProxyConfigInput(c, "iptables", node), nodeIPs: node.nodeIPs });
    expect(ipt).toMatchObject({
      masqueradeBit: 4,
      masqueradeAll: true,
      localhostNodePorts: false,
      syncPeriodMs: 10_000,
    });
    expect(ipt.localDetector).toEqual({ mode: "ClusterCIDR", cidr: expect.anything() });
    expect(String((ipt.localDetector as { cidr: unknown }).cidr)).toBe("10.244.0.0/16");
    expect(ipt.nodePortAddresses.map(String)).toEqual(["192.168.0.0/16"]);
    const nft = proxyConfig(kubeProxyProxyConfigInput(c, "nftables", node));
    expect(nft).toMatchObject({ masqueradeBit: 9, masqueradeAll: false, minSyncPeriodMs: 2000, syncPeriodMs: 30_000 });
  });
  it.each([
    ["detectLocalMode: NodeCIDR", { mode: "NodeCIDR", cidr: "10.244.3.0/24" }],
    [
      "detectLocalMode: BridgeInterface\ndetectLocal: {bridgeInterface: cbr0}",
      { mode: "BridgeInterface", interfaceName: "cbr0" },
    ],
    [
      "detectLocalMode: InterfaceNamePrefix\ndetectLocal: {interfaceNamePrefix: veth}",
      { mode: "InterfaceNamePrefix", prefix: "veth" },
    ],
    ["detectLocalMode: ClusterCIDR", { mode: "None" }],
  ])("%s", (body, want) => {
    const det = kubeProxyProxyConfigInput(ok(body), "iptables", node).localDetector;
    expect(
      JSON.parse(
        JSON.stringify(det, (_k, v) => (typeof v === "object" && v?.constructor?.name === "Prefix" ? String(v) : v)),
      ),
    ).toEqual(want);
  });
  it("nodePortAddresses: [primary] is the node's IPs of the family", () => {
    const c = ok("nodePortAddresses: [primary]");
    expect(kubeProxyProxyConfigInput(c, "iptables", node).nodePortAddresses?.map(String)).toEqual(["192.168.1.5/32"]);
  });
  it("ipvs scheduler and timeouts (seconds; 0 keeps the kernel's), iptables conntrack be-liberal", () => {
    const c = ok("ipvs: {scheduler: lc, tcpTimeout: 15m, udpTimeout: 0s}\nconntrack: {tcpBeLiberal: true}");
    expect(kubeProxyEngineOptions(c, "ipvs")).toEqual({ scheduler: "lc", timeouts: { tcp: 900 } });
    expect(kubeProxyEngineOptions(c, "iptables")).toEqual({ conntrackTCPLiberal: true });
    expect(kubeProxyEngineOptions(ok(""), "ipvs")).toEqual({});
    expect(kubeProxyEngineOptions(ok(""), "iptables")).toEqual({});
  });
});

describe("parseKubeProxyConfiguration never throws", () => {
  const FIELDS = [
    "mode",
    "clusterCIDR",
    "bindAddress",
    "nodePortAddresses",
    "detectLocalMode",
    "detectLocal",
    "iptables",
    "ipvs",
    "nftables",
    "conntrack",
    "featureGates",
  ];
  const SUB = [
    "masqueradeBit",
    "masqueradeAll",
    "syncPeriod",
    "minSyncPeriod",
    "scheduler",
    "tcpTimeout",
    "excludeCIDRs",
    "maxPerCore",
    "bridgeInterface",
  ];
  const leaf = fc.oneof(
    fc.jsonValue({ maxDepth: 2 }),
    fc.constantFrom("30s", "-1s", "1h2m", "10.0.0.0/8", "fd00::/64", "primary", "010.0.0.1", "", "ipvs", "nftables"),
    fc.integer({ min: -(2 ** 33), max: 2 ** 33 }),
  );
  const section = fc.dictionary(fc.constantFrom(...SUB), leaf, { maxKeys: 4 });
  const doc = fc.dictionary(fc.constantFrom(...FIELDS), fc.oneof(leaf, section), { maxKeys: 6 });
  it("for any document: a configuration, and problems that each name a message (and a field)", () => {
    fc.assert(
      fc.property(doc, fc.boolean(), (d, asJson) => {
        const full = { apiVersion: "kubeproxy.config.k8s.io/v1alpha1", kind: "KubeProxyConfiguration", ...d };
        const r = parseKubeProxyConfiguration(asJson ? JSON.stringify(full) : JSON.stringify(full, null, 1));
        for (const p of r.problems) {
          expect(typeof p.message).toBe("string");
          expect(p.message.length).toBeGreaterThan(0);
          expect(typeof p.field).toBe("string");
        }
        if (r.problems.length === 0) {
          expect(Number.isInteger(r.config.iptables.masqueradeBit)).toBe(true);
          expect(r.config.iptables.syncPeriodMs).toBeGreaterThan(0);
        }
      }),
      { numRuns: 300 },
    );
  });
  it.each([["[]"], ["42"], ["null"], ["{"], ["a: b: c"], ["- 1\n- 2"]])("%j", (text) => {
    expect(parseKubeProxyConfiguration(text).problems.length).toBeGreaterThan(0);
  });
});
