import type { EndpointSlice, Service } from "@knet/k8s";
import { buildProxyState, type ProxyConfigInput, proxyConfig, seededRandom } from "@knet/kube-proxy";
import { service, slice } from "@knet/kube-proxy/contract";
import { Addr } from "@knet/netstack";
import { describe, expect, it } from "vitest";
import { IpvsEngine, type IpvsEngineOptions, IpvsTable, renderIpvsadmList, renderIpvsadmSave } from "../src/index.js";

const NODE: ProxyConfigInput = { nodeName: "node-1", nodeIPs: ["192.168.0.2"], clusterCIDR: "10.0.0.0/8" };

function engine(
  objects: { services: Service[]; endpointSlices: EndpointSlice[] },
  extra: Partial<IpvsEngineOptions> = {},
  cfg: ProxyConfigInput = {},
  clock: { now: number } = { now: 0 },
): IpvsEngine {
  const config = proxyConfig({ ...NODE, ...cfg });
  const e = new IpvsEngine({ config, random: seededRandom(1), now: () => clock.now, ...extra });
  e.sync(buildProxyState(config, objects));
  return e;
}

describe("ipvsadm text (reference kube-proxy.md §7.4)", () => {
  it("renders the save and listing forms byte for byte", () => {
    // The reference's example lists 10.96.0.x before 172.18.0.3; libipvs's ipvs_cmp_services compares
    // `ntohl(a) - ntohl(b)` assigned to an int, so 0x0A600001 - 0xAC120003 = 0x5E4DFFFE > 0 and the
    // 172.18.0.3 service sorts first among the TCP ones. We follow the source; every line's format is the
    // reference's.
    const t = new IpvsTable();
    const A = Addr.parse;
    const k = t.addService({ protocol: "tcp", addr: A("10.96.0.1"), port: 443 });
    k.addDest(A("172.18.0.2"), 6443, 1);
    const dnsT = t.addService({ protocol: "tcp", addr: A("10.96.0.10"), port: 53 });
    dnsT.addDest(A("10.244.2.142"), 53, 1);
    dnsT.addDest(A("10.244.1.99"), 53, 1);
    const np = t.addService({ protocol: "tcp", addr: A("172.18.0.3"), port: 30080, persistentTimeout: 10800 });
    np.addDest(A("10.244.1.7"), 8080, 1);
    const dnsU = t.addService({ protocol: "udp", addr: A("10.96.0.10"), port: 53 });
    dnsU.addDest(A("10.244.1.99"), 53, 1);
    // one established connection to the API server
    t.connect(k, { src: A("10.244.1.5"), dst: A("10.96.0.1"), sport: 40000 }, 0);
    expect(renderIpvsadmList(t.services())).toBe(
      [
        "IP Virtual Server version 1.2.1 (size=4096)",
        "Prot LocalAddress:Port Scheduler Flags",
        "  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn",
        "TCP  172.18.0.3:30080 rr persistent 10800",
        "  -> 10.244.1.7:8080              Masq    1      0          0         ",
        "TCP  10.96.0.1:443 rr",
        "  -> 172.18.0.2:6443              Masq    1      1          0         ",
        "TCP  10.96.0.10:53 rr",
        "  -> 10.244.1.99:53               Masq    1      0          0         ",
        "  -> 10.244.2.142:53              Masq    1      0          0         ",
        "UDP  10.96.0.10:53 rr",
        "  -> 10.244.1.99:53               Masq    1      0          0         ",
        "",
      ].join("\n"),
    );
    expect(renderIpvsadmSave(t.services())).toBe(
      [
        "-A -t 172.18.0.3:30080 -s rr -p 10800",
        "-a -t 172.18.0.3:30080 -r 10.244.1.7:8080 -m -w 1",
        "-A -t 10.96.0.1:443 -s rr",
        "-a -t 10.96.0.1:443 -r 172.18.0.2:6443 -m -w 1",
        "-A -t 10.96.0.10:53 -s rr",
        "-a -t 10.96.0.10:53 -r 10.244.1.99:53 -m -w 1",
        "-a -t 10.96.0.10:53 -r 10.244.2.142:53 -m -w 1",
        "-A -u 10.96.0.10:53 -s rr",
        "-a -u 10.96.0.10:53 -r 10.244.1.99:53 -m -w 1",
        "",
      ].join("\n"),
    );
  });

  it("sorts addresses as libipvs does (signed 32-bit difference: 192.168/16 before 10/8)", () => {
    const t = new IpvsTable();
    t.addService({ protocol: "tcp", addr: Addr.parse("10.0.0.1"), port: 80 });
    t.addService({ protocol: "tcp", addr: Addr.parse("192.168.0.1"), port: 80 });
    const save = renderIpvsadmSave(t.services());
    expect(save.indexOf("192.168.0.1")).toBeLessThan(save.indexOf("10.0.0.1"));
  });
});

describe("iptables payload (reference kube-proxy.md §7.3)", () => {
  it("reproduces the worked example: ClusterIPs, a TCP NodePort, an LB with a source range", () => {
    const services = [
      service({ ns: "default", name: "kubernetes", clusterIP: "10.96.0.1", ports: [{ name: "https", port: 443 }] }),
      service({
        name: "np",
        clusterIP: "10.96.0.20",
        type: "NodePort",
        ports: [{ name: "p80", port: 80, nodePort: 30080 }],
      }),
      service({
        name: "lb",
        clusterIP: "10.96.0.30",
        type: "LoadBalancer",
        ports: [{ name: "p80", port: 80, nodePort: 30081 }],
        lbIngress: ["1.2.3.4"],
        sourceRanges: ["203.0.113.0/24"],
      }),
    ];
    const endpointSlices = [
      slice("kubernetes", ["172.18.0.2"], { ns: "default", ports: [{ name: "https", port: 6443 }] }),
      slice("np", [{ ip: "10.244.1.7", node: "node-1" }]),
      slice("lb", ["10.244.2.8"]),
    ];
    const e = engine({ services, endpointSlices }, { markFormat: "test" }, { clusterCIDR: "10.244.0.0/16" });
    expect(e.renderIptables()).toBe(`*nat
:KUBE-SERVICES - [0:0]
:KUBE-POSTROUTING - [0:0]
:KUBE-NODE-PORT - [0:0]
:KUBE-LOAD-BALANCER - [0:0]
:KUBE-MARK-MASQ - [0:0]
-A KUBE-SERVICES -s 127.0.0.0/8 -j RETURN
-A KUBE-POSTROUTING -m comment --comment "Kubernetes endpoints dst ip:port, source ip for solving hairpin purpose" -m set --match-set KUBE-LOOP-BACK dst,dst,src -j MASQUERADE
-A KUBE-SERVICES -m comment --comment "Kubernetes service lb portal" -m set --match-set KUBE-LOAD-BALANCER dst,dst -j KUBE-LOAD-BALANCER
-A KUBE-NODE-PORT -p tcp -m comment --comment "Kubernetes nodeport TCP port for masquerade purpose" -m set --match-set KUBE-NODE-PORT-TCP dst -j KUBE-MARK-MASQ
-A KUBE-SERVICES -m comment --comment "Kubernetes service cluster ip + port for masquerade purpose" -m set --match-set KUBE-CLUSTER-IP dst,dst ! -s 10.244.0.0/16 -j KUBE-MARK-MASQ
-A KUBE-SERVICES -m addrtype --dst-type LOCAL -j KUBE-NODE-PORT
-A KUBE-LOAD-BALANCER -j KUBE-MARK-MASQ
-A KUBE-SERVICES -m set --match-set KUBE-CLUSTER-IP dst,dst -j ACCEPT
-A KUBE-SERVICES -m set --match-set KUBE-LOAD-BALANCER dst,dst -j ACCEPT
-A KUBE-POSTROUTING -m mark ! --mark 0x4000/0x4000 -j RETURN
-A KUBE-POSTROUTING -j MARK --xor-mark 0x4000
-A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE --random-fully
-A KUBE-MARK-MASQ -j MARK --or-mark 0x4000
COMMIT
*filter
:KUBE-FORWARD - [0:0]
:KUBE-NODE-PORT - [0:0]
:KUBE-PROXY-FIREWALL - [0:0]
:KUBE-SOURCE-RANGES-FIREWALL - [0:0]
:KUBE-IPVS-FILTER - [0:0]
:KUBE-IPVS-OUT-FILTER - [0:0]
-A KUBE-PROXY-FIREWALL -m comment --comment "Kubernetes service load balancer ip + port for load balancer with sourceRange" -m set --match-set KUBE-LOAD-BALANCER-FW dst,dst -j KUBE-SOURCE-RANGES-FIREWALL
-A KUBE-SOURCE-RANGES-FIREWALL -m comment --comment "Kubernetes service load balancer ip + port + source cidr for packet filter purpose" -m set --match-set KUBE-LOAD-BALANCER-SOURCE-CIDR dst,dst,src -j RETURN
-A KUBE-SOURCE-RANGES-FIREWALL -j DROP
-A KUBE-IPVS-OUT-FILTER -s 1.2.3.4 -m ipvs --vaddr 1.2.3.4 --vproto tcp --vport 80 -j DROP
-A KUBE-FORWARD -m comment --comment "kubernetes forwarding rules" -m mark --mark 0x4000/0x4000 -j ACCEPT
-A KUBE-FORWARD -m comment --comment "kubernetes forwarding conntrack rule" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A KUBE-NODE-PORT -m comment --comment "Kubernetes health check node port" -m set --match-set KUBE-HEALTH-CHECK-NODE-PORT dst -j ACCEPT
-A KUBE-IPVS-FILTER -m set --match-set KUBE-LOAD-BALANCER dst,dst -j RETURN
-A KUBE-IPVS-FILTER -m set --match-set KUBE-CLUSTER-IP dst,dst -j RETURN
-A KUBE-IPVS-FILTER -m set --match-set KUBE-EXTERNAL-IP dst,dst -j RETURN
-A KUBE-IPVS-FILTER -m set --match-set KUBE-EXTERNAL-IP-LOCAL dst,dst -j RETURN
-A KUBE-IPVS-FILTER -m set --match-set KUBE-HEALTH-CHECK-NODE-PORT dst -j RETURN
-A KUBE-IPVS-FILTER -m conntrack --ctstate NEW -m set --match-set KUBE-IPVS-IPS dst -j REJECT
COMMIT
`);
    // the binary's mark spelling by default
    const b = engine({ services, endpointSlices }, {}, { clusterCIDR: "10.244.0.0/16" });
    expect(b.renderIptables()).toContain("-A KUBE-MARK-MASQ -j MARK --or-mark 0x00004000");
    // the sets behind it
    expect(e.ipsets().entries("KUBE-LOOP-BACK")).toEqual(["10.244.1.7,tcp:80,10.244.1.7"]);
    expect(e.ipsets().entries("KUBE-NODE-PORT-TCP")).toEqual(["30080", "30081"]);
    expect(e.ipsets().entries("KUBE-LOAD-BALANCER-SOURCE-CIDR")).toEqual(["1.2.3.4,tcp:80,203.0.113.0/24"]);
    expect(e.ipsets().entries("KUBE-IPVS-IPS")).toEqual(["1.2.3.4", "10.96.0.1", "10.96.0.20", "10.96.0.30"]);
    // one VS per ClusterIP:port, LB IP:port and node IP x NodePort
    expect(
      e
        .renderIpvsadmSave()
        .split("\n")
        .filter((l) => l.startsWith("-A")),
    ).toEqual([
      // libipvs order: 192.168.0.2 - 1.2.3.4 overflows int → negative, so the node IP sorts first
      "-A -t 192.168.0.2:30080 -s rr",
      "-A -t 192.168.0.2:30081 -s rr",
      "-A -t 1.2.3.4:80 -s rr",
      "-A -t 10.96.0.1:443 -s rr",
      "-A -t 10.96.0.20:80 -s rr",
      "-A -t 10.96.0.30:80 -s rr",
    ]);
    expect(e.renderDummyInterface()).toBe(
      "ip link add kube-ipvs0 type dummy\nip addr add 1.2.3.4/32 dev kube-ipvs0\nip addr add 10.96.0.1/32 dev kube-ipvs0\n" +
        "ip addr add 10.96.0.20/32 dev kube-ipvs0\nip addr add 10.96.0.30/32 dev kube-ipvs0\n",
    );
  });

  it("ipset restore text: create lines as kube-proxy creates the sets, sorted add lines, KUBE-6- names for IPv6", () => {
    const e = engine({
      services: [service({ name: "a", clusterIP: "172.30.0.41" })],
      endpointSlices: [slice("a", ["10.180.0.2"])],
    });
    const text = e.renderIpsets();
    expect(text.split("\n").filter((l) => l.startsWith("create"))).toHaveLength(17);
    expect(text).toContain("create KUBE-CLUSTER-IP hash:ip,port family inet hashsize 1024 maxelem 65536\n");
    expect(text).toContain("create KUBE-NODE-PORT-TCP bitmap:port range 0-65535\n");
    expect(text).toContain("add KUBE-CLUSTER-IP 172.30.0.41,tcp:80\n");
    const v6 = engine(
      {
        services: [service({ name: "a", clusterIP: "fd00:30::41" })],
        endpointSlices: [slice("a", ["fd00:10:180::2"], { family: 6 })],
      },
      {},
      { family: 6, nodeIPs: ["fd00:192::2"], clusterCIDR: "fd00:10::/32" },
    );
    const t6 = v6.renderIpsets();
    expect(t6).toContain("create KUBE-6-CLUSTER-IP hash:ip,port family inet6 hashsize 1024 maxelem 65536\n");
    expect(t6).toContain("create KUBE-6-NODE-PORT-LOCAL-SCTP-HAS hash:ip,port");
    expect(t6).toContain("add KUBE-6-CLUSTER-IP fd00:30::41,tcp:80\n");
    expect(v6.renderIptables()).toContain("-A KUBE-SERVICES -s ::1/128 -j RETURN");
  });
});

describe("IPVS-mode behaviour where it differs from iptables mode", () => {
  it("eTP=Local without local endpoints: external traffic goes to a remote endpoint, unmasqueraded (#97081)", () => {
    const e = engine({
      services: [
        service({
          name: "np",
          clusterIP: "172.30.0.43",
          type: "NodePort",
          eTP: "Local",
          ports: [{ name: "p80", port: 80, nodePort: 30080 }],
        }),
      ],
      endpointSlices: [slice("np", [{ ip: "10.180.0.4", node: "node-2" }])],
    });
    expect(e.evaluate({ src: "203.0.113.9", dst: "192.168.0.2", dport: 30080 }).outcome).toEqual({
      kind: "dnat",
      backend: { ip: "10.180.0.4", port: 80 },
      masquerade: false,
    });
  });

  it("iTP=Local without local endpoints: a virtual server without real servers rejects (ICMP)", () => {
    const e = engine({
      services: [service({ name: "b", clusterIP: "172.30.0.51", iTP: "Local" })],
      endpointSlices: [slice("b", [{ ip: "10.180.0.7", node: "node-2" }])],
    });
    const r = e.evaluate({ src: "10.0.1.5", dst: "172.30.0.51", dport: 80 });
    expect(r.outcome.kind).toBe("reject");
    expect(r.trace.some((s) => s.table === "ipvs" && s.text === "no destination available")).toBe(true);
    expect(e.renderIpvsadmSave()).toBe("-A -t 172.30.0.51:80 -s rr\n");
  });

  it("hairpin through KUBE-LOOP-BACK: a local endpoint reaching itself is masqueraded, others are not", () => {
    const e = engine({
      services: [service({ name: "hp", clusterIP: "172.30.0.95" })],
      endpointSlices: [slice("hp", [{ ip: "10.180.5.1", node: "node-1" }])],
    });
    const self = e.evaluate({ src: "10.180.5.1", dst: "172.30.0.95", dport: 80 });
    expect(self.outcome).toEqual({ kind: "dnat", backend: { ip: "10.180.5.1", port: 80 }, masquerade: true });
    expect(self.trace.some((s) => s.text.includes("KUBE-LOOP-BACK") && s.matched)).toBe(true);
    const other = e.evaluate({ src: "10.180.5.2", dst: "172.30.0.95", dport: 80 });
    expect(other.outcome).toEqual({ kind: "dnat", backend: { ip: "10.180.5.1", port: 80 }, masquerade: false });
  });

  it("KUBE-IPVS-FILTER rejects new connections to other ports of a service address", () => {
    const e = engine({
      services: [service({ name: "a", clusterIP: "172.30.0.41" })],
      endpointSlices: [slice("a", ["10.180.0.2"])],
    });
    const r = e.evaluate({ src: "203.0.113.9", dst: "172.30.0.41", dport: 22 });
    expect(r.outcome.kind).toBe("reject");
    expect(r.trace.find((s) => s.matched && s.chain === "KUBE-IPVS-FILTER")?.text).toContain("KUBE-IPVS-IPS");
  });

  it("the node cannot reach an LB VIP whose source ranges exclude it (KUBE-IPVS-OUT-FILTER, -m ipvs)", () => {
    const e = engine({
      services: [
        service({
          name: "lb",
          clusterIP: "172.30.0.45",
          type: "LoadBalancer",
          ports: [{ name: "p80", port: 80, nodePort: 30002 }],
          lbIngress: ["5.6.7.8"],
          sourceRanges: ["203.0.113.0/25"],
        }),
      ],
      endpointSlices: [slice("lb", ["10.180.0.3"])],
    });
    // the packet from the node to its own LB VIP leaves with the VIP as source (bound to kube-ipvs0)
    const r = e.evaluate({ src: "5.6.7.8", dst: "5.6.7.8", dport: 80 });
    expect(r.outcome.kind).toBe("drop");
    expect(r.trace.find((s) => s.matched && s.chain === "KUBE-IPVS-OUT-FILTER")?.text).toContain(
      "@ipvs:5.6.7.8,tcp,80",
    );
    // from an allowed client the VIP works
    expect(e.evaluate({ src: "203.0.113.9", dst: "5.6.7.8", dport: 80 }).outcome.kind).toBe("dnat");
  });
});

describe("real servers over time", () => {
  const objs = (ips: string[]): { services: Service[]; endpointSlices: EndpointSlice[] } => ({
    services: [service({ name: "a", clusterIP: "172.30.0.41" })],
    endpointSlices: [slice("a", ips)],
  });

  it("graceful termination: a removed TCP real server with connections keeps weight 0 until they expire", () => {
    const clock = { now: 0 };
    const config = proxyConfig(NODE);
    const e = new IpvsEngine({ config, now: () => clock.now });
    e.sync(buildProxyState(config, objs(["10.180.0.1", "10.180.0.2"])));
    for (let i = 0; i < 4; i++) e.evaluate({ src: "10.0.1.5", dst: "172.30.0.41", dport: 80, sport: 1000 + i });
    e.sync(buildProxyState(config, objs(["10.180.0.2"])));
    expect(e.renderIpvsadmSave()).toContain("-r 10.180.0.1:80 -m -w 0");
    expect(e.drainingServers()).toEqual(["tcp/172.30.0.41/80/10.180.0.1:80"]);
    // new connections avoid the weight-0 server
    for (let i = 0; i < 5; i++)
      expect(e.evaluate({ src: "10.0.1.6", dst: "172.30.0.41", dport: 80, sport: 2000 + i }).outcome).toMatchObject({
        backend: { ip: "10.180.0.2" },
      });
    expect(e.renderIpvsadmList()).toMatch(/-> 10\.180\.0\.1:80 {16}Masq {4}0 {6}2 /);
    // established TCP connections expire after 900 s; then the real server is deleted
    clock.now = 899_000;
    expect(e.drain(clock.now)).toBe(0);
    clock.now = 900_001;
    expect(e.drain(clock.now)).toBe(1);
    expect(e.renderIpvsadmSave()).not.toContain("10.180.0.1");
  });

  it("an endpoint that comes back is taken out of the graceful list and re-added with weight 1", () => {
    const config = proxyConfig(NODE);
    const e = new IpvsEngine({ config, now: () => 0 });
    e.sync(buildProxyState(config, objs(["10.180.0.1", "10.180.0.2"])));
    for (const sport of [1, 2]) e.evaluate({ src: "10.0.1.5", dst: "172.30.0.41", dport: 80, sport });
    e.sync(buildProxyState(config, objs(["10.180.0.2"])));
    expect(e.drainingServers()).toHaveLength(1);
    e.sync(buildProxyState(config, objs(["10.180.0.1", "10.180.0.2"])));
    expect(e.drainingServers()).toEqual([]);
    expect(e.renderIpvsadmSave()).toContain("-r 10.180.0.1:80 -m -w 1");
  });

  it("UDP real servers are deleted at once (no graceful termination)", () => {
    const config = proxyConfig(NODE);
    const e = new IpvsEngine({ config, now: () => 0 });
    const udp = (ips: string[]): { services: Service[]; endpointSlices: EndpointSlice[] } => ({
      services: [service({ name: "d", clusterIP: "172.30.0.10", ports: [{ name: "dns", port: 53, protocol: "UDP" }] })],
      endpointSlices: [slice("d", ips, { ports: [{ name: "dns", port: 53, protocol: "UDP" }] })],
    });
    e.sync(buildProxyState(config, udp(["10.180.1.1", "10.180.1.2"])));
    e.evaluate({ src: "10.0.1.5", dst: "172.30.0.10", dport: 53, protocol: "udp" });
    e.sync(buildProxyState(config, udp(["10.180.1.2"])));
    expect(e.renderIpvsadmSave()).not.toContain("10.180.1.1");
  });

  it("lc balances by live connections: closed connections free their server", () => {
    const config = proxyConfig(NODE);
    const e = new IpvsEngine({ config, now: () => 0, scheduler: "lc" });
    e.sync(buildProxyState(config, objs(["10.180.0.1", "10.180.0.2", "10.180.0.3"])));
    const picks = [0, 1, 2, 3, 4, 5].map(
      (i) =>
        (
          e.evaluate({ src: "10.0.1.5", dst: "172.30.0.41", dport: 80, sport: 3000 + i }).outcome as {
            backend: { ip: string };
          }
        ).backend.ip,
    );
    // every server gets one before any gets a second (kernel list order: the last added is first)
    expect(new Set(picks.slice(0, 3)).size).toBe(3);
    expect(new Set(picks.slice(3)).size).toBe(3);
    // close both connections of .2 → it is the least loaded
    for (const c of e.table.connections()) if (c.dest.addr.toString() === "10.180.0.2") e.table.close(c, 0);
    e.table.expire(200_000);
    expect(e.evaluate({ src: "10.0.1.5", dst: "172.30.0.41", dport: 80, sport: 4000 }).outcome).toMatchObject({
      backend: { ip: "10.180.0.2" },
    });
  });

  it("ClientIP affinity is persistence per virtual server: sticks, re-armed by each new connection, ends after the timeout", () => {
    const clock = { now: 0 };
    const config = proxyConfig(NODE);
    const e = new IpvsEngine({ config, now: () => clock.now });
    e.sync(
      buildProxyState(config, {
        services: [
          service({
            name: "s",
            clusterIP: "172.30.0.70",
            affinitySeconds: 100,
            type: "NodePort",
            ports: [{ name: "p80", port: 80, nodePort: 30070 }],
          }),
        ],
        endpointSlices: [slice("s", ["10.180.2.1", "10.180.2.2", "10.180.2.3"])],
      }),
    );
    expect(e.renderIpvsadmSave()).toContain("-A -t 172.30.0.70:80 -s rr -p 100");
    expect(e.renderIpvsadmSave()).toContain("-A -t 192.168.0.2:30070 -s rr -p 100");
    const hit = (src: string, sport: number): string =>
      (e.evaluate({ src, dst: "172.30.0.70", dport: 80, sport }).outcome as { backend: { ip: string } }).backend.ip;
    const first = hit("10.0.1.5", 1);
    for (let i = 0; i < 5; i++) expect(hit("10.0.1.5", 10 + i)).toBe(first);
    // closed connections linger 120 s (tcpfin); the template (100 s) lives while it controls any
    for (const c of e.table.connections()) e.table.close(c, clock.now);
    clock.now = 99_000;
    expect(hit("10.0.1.5", 50)).toBe(first); // the template is re-armed: now + 100 s = 199 s
    for (const c of e.table.connections()) e.table.close(c, clock.now);
    clock.now = 220_000; // 99 s + 120 s of FIN timeout have passed, and the template's 199 s
    e.table.expire(clock.now);
    expect(e.table.connections()).toHaveLength(0);
    // no template any more: rr continues from its cursor, so another server
    expect(hit("10.0.1.5", 60)).not.toBe(first);
    expect(hit("10.0.1.5", 61)).not.toBe(first); // the new template holds
  });
});
