import type {
  AdminNetworkPolicy,
  BaselineAdminNetworkPolicy,
  NetworkPolicy,
  NetworkPolicySpec,
  Node,
  Pod,
} from "@knet/k8s";
import {
  diffReachability,
  e2eModel,
  explain,
  formatReachability,
  type PolicyClusterState,
  PolicyEngine,
  PolicyError,
  parsePortSpec,
  reachability,
  serviceTargets,
  serviceVerdicts,
  strictProfile,
  walkthrough,
} from "@knet/netpol";
import { describe, expect, it } from "vitest";

const M = e2eModel();
const base: PolicyClusterState = { namespaces: M.namespaces, pods: M.pods };
const np = (ns: string, name: string, spec: NetworkPolicySpec): NetworkPolicy => ({
  metadata: { namespace: ns, name },
  spec,
});
const engine = (networkPolicies: NetworkPolicy[], extra: Partial<PolicyClusterState> = {}) =>
  new PolicyEngine({ ...base, networkPolicies, ...extra });
const tcp = (from: string, to: string, port = 80) => ({ from, to, protocol: "TCP" as const, port });
const udp = (from: string, to: string, port = 80) => ({ from, to, protocol: "UDP" as const, port });

describe("NetworkPolicy semantics", () => {
  it("an egress-only policy without policyTypes also isolates ingress (defaulting)", () => {
    const e = engine([np("x", "egress-only", { podSelector: { matchLabels: { pod: "a" } }, egress: [{}] })]);
    expect(e.allows(tcp("x/a", "y/a"))).toBe(true);
    expect(e.allows(tcp("x/b", "x/a"))).toBe(false);
    expect(e.policiesFor("x/a")).toMatchObject({ ingress: ["x/egress-only"], egress: ["x/egress-only"] });
  });

  it("rules of a direction missing from explicit policyTypes are ignored", () => {
    const e = engine([
      np("x", "p", { podSelector: { matchLabels: { pod: "a" } }, egress: [], policyTypes: ["Ingress"], ingress: [{}] }),
    ]);
    expect(e.allows(tcp("x/a", "y/a"))).toBe(true);
    expect(e.policiesFor("x/a").egress).toEqual([]);
  });

  it("ports: [{}] means every TCP port, not UDP", () => {
    const e = engine([np("x", "p", { podSelector: {}, ingress: [{ ports: [{}] }], policyTypes: ["Ingress"] })]);
    expect(e.allows(tcp("y/a", "x/a", 12345))).toBe(true);
    expect(e.allows(udp("y/a", "x/a"))).toBe(false);
  });

  it("from: [] means every source, ingress: [] means none", () => {
    expect(engine([np("x", "p", { podSelector: {}, ingress: [{ from: [] }] })]).allows(tcp("y/a", "x/a"))).toBe(true);
    expect(engine([np("x", "p", { podSelector: {}, ingress: [] })]).allows(tcp("y/a", "x/a"))).toBe(false);
  });

  it("ipBlock with except admits external IPs in the block only; selector peers never match them", () => {
    const e = engine([
      np("x", "p", {
        podSelector: { matchLabels: { pod: "a" } },
        ingress: [
          { from: [{ ipBlock: { cidr: "192.0.2.0/24", except: ["192.0.2.128/25"] } }, { namespaceSelector: {} }] },
        ],
      }),
    ]);
    expect(e.allows(tcp("192.0.2.7", "x/a"))).toBe(true);
    expect(e.allows(tcp("192.0.2.200", "x/a"))).toBe(false);
    expect(e.allows(tcp("198.51.100.1", "x/a"))).toBe(false);
    expect(e.allows(tcp("y/c", "x/a"))).toBe(true);
    const v = e.verdict(tcp("192.0.2.200", "x/a"));
    expect(v.from.kind).toBe("external");
    expect(v.ingress.misses[0]?.reason).toContain("excluded by except 192.0.2.128/25");
    expect(v.ingress.misses[0]?.reason).toContain("not one");
    // Traffic from an external client is checked only at the pod side.
    expect(engine([]).verdict(tcp("x/a", "203.0.113.9")).egress.decidedBy).toBe("Default");
  });

  it("ipBlock matches a sloppy CIDR after masking (10.77.1.9/16 = 10.77.0.0/16)", () => {
    const e = engine([
      np("x", "p", {
        podSelector: { matchLabels: { pod: "a" } },
        egress: [{ to: [{ ipBlock: { cidr: "10.77.1.9/16" } }] }],
        policyTypes: ["Egress"],
      }),
    ]);
    expect(e.allows(tcp("x/a", "z/c"))).toBe(true);
    expect(e.allows(tcp("x/a", "10.78.0.1"))).toBe(false);
  });

  it("named ports resolve on the destination pod, with the entry's protocol", () => {
    const pods: Pod[] = M.pods.map((p) =>
      p.metadata?.name === "b" && p.metadata.namespace === "y"
        ? {
            ...p,
            spec: { containers: [{ name: "c", ports: [{ name: "web", containerPort: 8080, protocol: "TCP" }] }] },
          }
        : p.metadata?.name === "c" && p.metadata.namespace === "y"
          ? {
              ...p,
              spec: { containers: [{ name: "c", ports: [{ name: "web", containerPort: 9090, protocol: "UDP" }] }] },
            }
          : p,
    );
    const e = engine(
      [
        np("x", "p", {
          podSelector: { matchLabels: { pod: "a" } },
          egress: [{ ports: [{ port: "web" }] }],
          policyTypes: ["Egress"],
        }),
      ],
      { pods },
    );
    expect(e.allows(tcp("x/a", "y/b", 8080))).toBe(true);
    expect(e.allows(tcp("x/a", "y/b", 80))).toBe(false);
    expect(e.allows(udp("x/a", "y/c", 9090))).toBe(false); // entry protocol defaults to TCP
    expect(e.allows(tcp("x/a", "203.0.113.1", 8080))).toBe(false); // never an external destination
    const v = e.verdict(tcp("x/a", "y/b", 8080));
    expect(v.egress.steps[0]?.match).toMatchObject({ policy: "x/p", rule: 0, port: 0, resolvedPort: 8080 });
    expect(e.verdict(udp("x/a", "y/c", 9090)).egress.misses[0]?.reason).toContain("web is 9090/UDP on y/c");
  });

  it("endPort admits an inclusive range of the protocol", () => {
    const e = engine([
      np("x", "p", { podSelector: {}, ingress: [{ ports: [{ port: 80, endPort: 90, protocol: "UDP" }] }] }),
    ]);
    expect([79, 80, 85, 90, 91].map((p) => e.allows(udp("y/a", "x/b", p)))).toEqual([false, true, true, true, false]);
    expect(e.allows(tcp("y/a", "x/b", 85))).toBe(false);
  });

  it("NotIn and DoesNotExist match a missing key, In and Exists do not", () => {
    const pol = (op: "In" | "NotIn" | "Exists" | "DoesNotExist") =>
      engine([
        np("x", "p", {
          podSelector: { matchLabels: { pod: "a" } },
          ingress: [
            {
              from: [
                {
                  podSelector: {
                    matchExpressions: [
                      { key: "tier", operator: op, ...(op === "In" || op === "NotIn" ? { values: ["web"] } : {}) },
                    ],
                  },
                },
              ],
            },
          ],
        }),
      ]).allows(tcp("x/b", "x/a"));
    expect([pol("In"), pol("NotIn"), pol("Exists"), pol("DoesNotExist")]).toEqual([false, true, false, true]);
  });

  it("namespaces without the name label get kubernetes.io/metadata.name synthesised", () => {
    const e = new PolicyEngine({
      pods: M.pods,
      networkPolicies: [
        np("x", "p", {
          podSelector: {},
          ingress: [{ from: [{ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "y" } } }] }],
        }),
      ],
    });
    expect(e.allows(tcp("y/a", "x/a"))).toBe(true);
    expect(e.allows(tcp("z/a", "x/a"))).toBe(false);
  });

  it("SCTP and UDP rules never open TCP", () => {
    const e = engine([
      np("x", "p", {
        podSelector: {},
        ingress: [
          {
            ports: [
              { port: 80, protocol: "SCTP" },
              { port: 80, protocol: "UDP" },
            ],
          },
        ],
      }),
    ]);
    expect(e.allows({ from: "y/a", to: "x/a", protocol: "SCTP", port: 80 })).toBe(true);
    expect(e.allows(udp("y/a", "x/a"))).toBe(true);
    expect(e.allows(tcp("y/a", "x/a"))).toBe(false);
  });

  it("rejects what the API server rejects, naming policy and field", () => {
    const bad = np("x", "bad", {
      podSelector: {},
      ingress: [{ from: [{ ipBlock: { cidr: "10.0.0.0/8", except: ["11.0.0.0/16"] } }] }],
    });
    expect(() => engine([bad])).toThrow(PolicyError);
    try {
      engine([bad]);
    } catch (e) {
      expect((e as PolicyError).policy).toBe("x/bad");
      expect((e as PolicyError).field).toContain("except");
    }
    expect(() =>
      engine([np("x", "bad2", { podSelector: {}, ingress: [{ ports: [{ port: 90, endPort: 80 }] }] })]),
    ).toThrow(/endPort/);
  });
});

describe("profile decisions are stated", () => {
  it("a pod reaching itself is allowed by the default profile and evaluated by the strict one", () => {
    const pols = [np("x", "deny", { podSelector: {}, policyTypes: ["Ingress", "Egress"] })];
    const v = engine(pols).verdict(tcp("x/a", "x/a"));
    expect(v.allowed).toBe(true);
    expect(v.notes.join()).toContain("selfTraffic=allow");
    expect(explain(v)).toContain("[Profile] Allowed");
    expect(
      new PolicyEngine({ ...base, networkPolicies: pols }, { profile: strictProfile }).allows(tcp("x/a", "x/a")),
    ).toBe(false);
  });

  it("node traffic and hostNetwork pods", () => {
    const node: Node = {
      metadata: { name: "n1", labels: { zone: "a" } },
      status: { addresses: [{ type: "InternalIP", address: "172.18.0.2" }] },
    };
    const hostPod: Pod = {
      metadata: { namespace: "x", name: "h", labels: { pod: "h" } },
      spec: { hostNetwork: true, containers: [] },
      status: { podIP: "172.18.0.2" },
    };
    const pols = [np("x", "deny", { podSelector: {}, policyTypes: ["Ingress", "Egress"] })];
    const e = engine(pols, { nodes: [node], pods: [...M.pods, hostPod] });
    const v = e.verdict(tcp("172.18.0.2", "x/a"));
    expect(v.from.kind).toBe("node");
    expect(v.allowed).toBe(true);
    expect(v.notes.join()).toContain("nodeTraffic=allow");
    expect(e.verdict(tcp("x/h", "x/a")).from.kind).toBe("node");
    expect(e.policiesFor("x/h").ingress).toEqual([]); // hostNetwork pods are never selected
    const strict = new PolicyEngine(
      { ...base, pods: [...M.pods, hostPod], nodes: [node], networkPolicies: pols },
      { profile: strictProfile },
    );
    expect(strict.allows(tcp("172.18.0.2", "x/a"))).toBe(false);
    expect(strict.policiesFor("x/h").ingress).toEqual(["x/deny"]);
  });
});

const anp = (
  name: string,
  priority: number,
  spec: Omit<AdminNetworkPolicy["spec"], "priority">,
): AdminNetworkPolicy => ({
  metadata: { name },
  spec: { priority, ...spec },
});
const nsSubject = (n: string) => ({ namespaces: { matchLabels: { "kubernetes.io/metadata.name": n } } });

describe("AdminNetworkPolicy and BaselineAdminNetworkPolicy tiers", () => {
  const denyX = np("x", "deny-anything-to-x", { podSelector: {}, policyTypes: ["Ingress"] });

  it("ANP Allow decides before NetworkPolicy; Deny too; lower priority number first", () => {
    const allowY = anp("allow-from-y", 10, {
      subject: nsSubject("x"),
      ingress: [
        {
          name: "from-y",
          action: "Allow",
          from: [{ namespaces: { matchLabels: { "kubernetes.io/metadata.name": "y" } } }],
        },
      ],
    });
    const denyY = anp("deny-from-y", 5, {
      subject: nsSubject("x"),
      ingress: [{ action: "Deny", from: [{ namespaces: { matchLabels: { "kubernetes.io/metadata.name": "y" } } }] }],
    });
    const e1 = engine([denyX], { adminNetworkPolicies: [allowY] });
    expect(e1.allows(tcp("y/a", "x/a"))).toBe(true);
    expect(e1.allows(tcp("z/a", "x/a"))).toBe(false);
    const v = e1.verdict(tcp("y/a", "x/a"));
    expect(walkthrough(v.ingress)).toBe('[ANP] Allow (allow-from-y: ingress rule 0, "from-y", peer 0, all ports)');
    const e2 = engine([], { adminNetworkPolicies: [allowY, denyY] });
    expect(e2.allows(tcp("y/a", "x/a"))).toBe(false);
    expect(e2.verdict(tcp("y/a", "x/a")).ingress.decidedBy).toBe("ANP");
  });

  it("Pass hands over to NetworkPolicy: the walkthrough names the dropping policy", () => {
    const pass = anp("development-ns", 1, {
      subject: nsSubject("x"),
      ingress: [{ action: "Pass", from: [{ namespaces: {} }] }],
    });
    const e = engine([denyX], { adminNetworkPolicies: [pass] });
    const v = e.verdict(tcp("y/b", "x/a"));
    expect(v.allowed).toBe(false);
    expect(walkthrough(v.ingress)).toBe(
      "[ANP] Pass (development-ns: ingress rule 0, peer 0, all ports) -> [NPv1] Dropped (x/deny-anything-to-x)",
    );
    expect(explain(v)).toContain("x/deny-anything-to-x has no ingress rules: it only isolates");
  });

  it("BANP applies only to pods NetworkPolicy does not isolate; ANPs do not isolate", () => {
    const banp: BaselineAdminNetworkPolicy = {
      metadata: { name: "default" },
      spec: {
        subject: { namespaces: {} },
        ingress: [{ action: "Deny", from: [{ namespaces: { matchLabels: { "kubernetes.io/metadata.name": "z" } } }] }],
      },
    };
    const allowZtoXa = np("x", "allow-z", {
      podSelector: { matchLabels: { pod: "a" } },
      ingress: [{ from: [{ namespaceSelector: {} }] }],
    });
    const noop = anp("selects-but-no-match", 1, {
      subject: { namespaces: {} },
      ingress: [{ action: "Deny", from: [{ namespaces: { matchLabels: { none: "x" } } }] }],
    });
    const e = engine([allowZtoXa], { baselineAdminNetworkPolicy: banp, adminNetworkPolicies: [noop] });
    expect(e.allows(tcp("z/a", "x/a"))).toBe(true); // isolated by NP: BANP never consulted
    expect(e.allows(tcp("z/a", "x/b"))).toBe(false); // not isolated: BANP denies
    expect(e.allows(tcp("y/a", "x/b"))).toBe(true); // BANP no match: default allow
    expect(walkthrough(e.verdict(tcp("z/a", "x/b")).ingress)).toBe(
      "[ANP] no match (selects-but-no-match) -> [NPv1] not isolated -> [BANP] Deny (default: ingress rule 0, peer 0, all ports)",
    );
  });

  it("egress networks peers match pod IPs too; ports and named ports", () => {
    const deny = anp("deny-to-10-77", 3, {
      subject: nsSubject("x"),
      egress: [
        {
          action: "Allow",
          to: [{ pods: { namespaceSelector: {}, podSelector: { matchLabels: { pod: "b" } } } }],
          ports: [{ namedPort: "serve-81-udp" }],
        },
        {
          action: "Deny",
          to: [{ networks: ["10.77.0.0/16"] }],
          ports: [{ portRange: { protocol: "UDP", start: 80, end: 81 } }],
        },
      ],
    });
    const e = engine([], { adminNetworkPolicies: [deny] });
    expect(e.allows(udp("x/a", "y/a", 80))).toBe(false);
    expect(e.allows(udp("x/a", "y/b", 81))).toBe(true);
    expect(e.allows(udp("x/a", "y/b", 80))).toBe(false);
    expect(e.allows(tcp("x/a", "y/a", 80))).toBe(true);
  });

  it("equal priorities with different actions are reported as ambiguous", () => {
    const a = anp("a-allow", 7, {
      subject: nsSubject("x"),
      ingress: [{ action: "Allow", from: [{ namespaces: {} }] }],
    });
    const b = anp("b-deny", 7, { subject: nsSubject("x"), ingress: [{ action: "Deny", from: [{ namespaces: {} }] }] });
    const v = engine([], { adminNetworkPolicies: [b, a] }).verdict(tcp("y/a", "x/a"));
    expect(v.ingress.steps[0]?.note).toContain("ambiguous");
  });
});

describe("explain and reachability", () => {
  it("explain names the isolating policies and the failing clause of every rule", () => {
    const e = engine([
      np("x", "allow-from-b", {
        podSelector: { matchLabels: { pod: "a" } },
        ingress: [{ from: [{ podSelector: { matchLabels: { pod: "b" } } }], ports: [{ port: 81 }] }],
      }),
    ]);
    const text = explain(e.verdict(tcp("y/c", "x/a", 80)));
    expect(text).toContain("y/c -> x/a TCP/80: DENIED");
    expect(text).toContain("ingress x/a: [NPv1] Dropped (x/allow-from-b)");
    expect(text).toContain("port 81/TCP is not 80");
    expect(text).toContain("no namespaceSelector means namespace x only; y/c is in y");
    expect(text).toContain("egress  y/c: [NPv1] not isolated -> [Default] Allowed");
  });

  it("matrices, their diff and e2e-style text", () => {
    const before = reachability(engine([]), { ports: [parsePortSpec("80/tcp")] });
    const after = reachability(engine([np("x", "deny", { podSelector: { matchLabels: { pod: "a" } } })]), {
      ports: [parsePortSpec("80")],
    });
    expect(before.pods).toEqual(["x/a", "x/b", "x/c", "y/a", "y/b", "y/c", "z/a", "z/b", "z/c"]);
    const diff = diffReachability(before, after);
    expect(diff).toHaveLength(8);
    expect(diff.every((d) => d.to === "x/a" && d.a === true && d.b === false)).toBe(true);
    const rows = formatReachability(after).split("\n");
    expect(rows[0]).toBe("80/TCP");
    expect(rows[2]?.split(/ +/)).toEqual(["x/a", ".", ".", ".", ".", ".", ".", ".", ".", "."]);
    expect(rows[6]?.split(/ +/)).toEqual(["y/b", "X", ".", ".", ".", ".", ".", ".", ".", "."]);
    expect(() => parsePortSpec("80/ICMP")).toThrow(/bad port/);
  });
});

describe("Service traffic is evaluated after DNAT", () => {
  it("a Service port leads to backend pods at their targetPort, and policy admits the targetPort", () => {
    const pods: Pod[] = M.pods
      .map((p) =>
        p.metadata?.namespace === "x" && p.metadata.name === "b"
          ? { ...p, spec: { containers: [{ name: "c", ports: [{ name: "web", containerPort: 8081 }] }] } }
          : p.metadata?.namespace === "x" && p.metadata.name === "a"
            ? { ...p, spec: { containers: [{ name: "c", ports: [{ name: "web", containerPort: 8080 }] }] } }
            : p,
      )
      .map((p) =>
        p.metadata?.namespace === "x" && p.metadata.name !== "c"
          ? { ...p, metadata: { ...p.metadata, labels: { ...p.metadata.labels, app: "web" } } }
          : p,
      );
    const e = engine([np("x", "only-8080", { podSelector: {}, ingress: [{ ports: [{ port: 8080 }] }] })], { pods });
    const svc = {
      metadata: { namespace: "x", name: "web" },
      spec: { selector: { app: "web" }, ports: [{ name: "http", port: 80, targetPort: "web" }] },
    };
    expect(serviceTargets(e, svc, "http")).toEqual([
      { pod: "x/a", port: 8080, protocol: "TCP" },
      { pod: "x/b", port: 8081, protocol: "TCP" },
    ]);
    const vs = serviceVerdicts(e, "y/a", svc, 80).map((v) => [v.target.pod, v.verdict.allowed]);
    expect(vs).toEqual([
      ["x/a", true],
      ["x/b", false],
    ]);
    expect(serviceTargets(e, { ...svc, spec: { ...svc.spec, selector: {} } }, 80)).toEqual([]);
    expect(() => serviceTargets(e, svc, 443)).toThrow(/no port 443/);
  });
});
