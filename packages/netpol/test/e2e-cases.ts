/**
 * The upstream e2e cases (kubernetes test/e2e/network/netpol/network_policy.go),
 * as data: policies per step and the expected truth table, written with the
 * upstream expectation builder from the case description (never computed by the
 * engine). Shared by the evaluator test and the kernel differential test.
 */
import type { NetworkPolicy, NetworkPolicyEgressRule, NetworkPolicyIngressRule, NetworkPolicySpec } from "@knet/k8s";
import { ExpectedReachability, e2eModel, type PortSpec } from "@knet/netpol";

export const MODEL = e2eModel();
export const PODS = MODEL.keys;
const NS = "kubernetes.io/metadata.name";
const ip = (key: string): string => {
  const p = MODEL.pods.find((x) => `${x.metadata?.namespace}/${x.metadata?.name}` === key);
  return p?.status?.podIP as string;
};

export interface CaseStep {
  readonly policies: readonly NetworkPolicy[];
  readonly port: PortSpec;
  readonly expected: boolean[][];
  /** Extra namespace labels for this step (upstream AddNamespaceLabel). */
  readonly namespaceLabels?: Readonly<Record<string, Record<string, string>>>;
  /** Extra pod labels for this step (upstream AddPodLabels). */
  readonly podLabels?: Readonly<Record<string, Record<string, string>>>;
}
export interface E2eCase {
  readonly id: number;
  readonly name: string;
  readonly steps: readonly CaseStep[];
}

function np(ns: string, name: string, spec: NetworkPolicySpec): NetworkPolicy {
  return { apiVersion: "networking.k8s.io/v1", kind: "NetworkPolicy", metadata: { namespace: ns, name }, spec };
}
/** Upstream GenNetworkPolicyWithNameAndPodMatchLabel + SetSpecIngressRules: appends policyType Ingress. */
function ingressPolicy(
  ns: string,
  name: string,
  podLabels: Record<string, string>,
  rules: NetworkPolicyIngressRule[],
): NetworkPolicy {
  return np(ns, name, { podSelector: { matchLabels: podLabels }, ingress: rules, policyTypes: ["Ingress"] });
}
function egressPolicy(
  ns: string,
  name: string,
  podLabels: Record<string, string>,
  rules: NetworkPolicyEgressRule[],
): NetworkPolicy {
  return np(ns, name, { podSelector: { matchLabels: podLabels }, egress: rules, policyTypes: ["Egress"] });
}
/** The model's namespaces and pods with a step's label changes applied. */
export function stateOf(step: CaseStep): { namespaces: typeof MODEL.namespaces; pods: typeof MODEL.pods } {
  const namespaces = MODEL.namespaces.map((n) => {
    const extra = step.namespaceLabels?.[n.metadata?.name ?? ""];
    return extra === undefined ? n : { ...n, metadata: { ...n.metadata, labels: { ...n.metadata?.labels, ...extra } } };
  });
  const pods = MODEL.pods.map((p) => {
    const extra = step.podLabels?.[`${p.metadata?.namespace}/${p.metadata?.name}`];
    return extra === undefined ? p : { ...p, metadata: { ...p.metadata, labels: { ...p.metadata?.labels, ...extra } } };
  });
  return { namespaces, pods };
}
const exp = (): ExpectedReachability => new ExpectedReachability(PODS);
const T80: PortSpec = { port: 80, protocol: "TCP" };
const T81: PortSpec = { port: 81, protocol: "TCP" };
const U80: PortSpec = { port: 80, protocol: "UDP" };
const S80: PortSpec = { port: 80, protocol: "SCTP" };
const U81: PortSpec = { port: 81, protocol: "UDP" };
const S81: PortSpec = { port: 81, protocol: "SCTP" };

const denyIngressX = np("x", "deny-ingress", { podSelector: {}, policyTypes: ["Ingress"] });
const allowFromNsY = (ports?: NetworkPolicyIngressRule["ports"]): NetworkPolicyIngressRule => ({
  from: [{ namespaceSelector: { matchLabels: { [NS]: "y" } } }],
  ...(ports === undefined ? {} : { ports }),
});

const xaOnlyFrom = (allowed: string[]): boolean[][] => {
  const e = exp().expectAllIngress("x/a", false);
  for (const a of allowed) e.expect(a, "x/a", true);
  return e.matrix();
};

export const CASES: readonly E2eCase[] = [
  {
    id: 1,
    name: "should support a 'default-deny-ingress' policy",
    steps: [
      { policies: [denyIngressX], port: T80, expected: exp().expectPeer({}, { namespace: "x" }, false).matrix() },
    ],
  },
  ...[U80, S80].map(
    (port): E2eCase => ({
      id: 1,
      name: `should support a 'default-deny-ingress' policy (${port.protocol})`,
      steps: [{ policies: [denyIngressX], port, expected: exp().expectPeer({}, { namespace: "x" }, false).matrix() }],
    }),
  ),
  ...[U81, S81].map(
    (port): E2eCase => ({
      id: 14,
      name: `should enforce policy based on Ports (${port.protocol})`,
      steps: [
        {
          policies: [
            ingressPolicy("x", "allow-ingress-on-port-81-ns-x", { pod: "a" }, [
              allowFromNsY([{ port: 81, protocol: port.protocol }]),
            ]),
          ],
          port,
          expected: exp()
            .expectPeer({ namespace: "x" }, { namespace: "x", pod: "a" }, false)
            .expectPeer({ namespace: "z" }, { namespace: "x", pod: "a" }, false)
            .matrix(),
        },
      ],
    }),
  ),
  {
    id: 2,
    name: "should support a 'default-deny-all' policy",
    steps: [
      {
        policies: [np("x", "deny-all", { podSelector: {}, policyTypes: ["Ingress", "Egress"] })],
        port: T80,
        expected: exp().expectPeer({}, { namespace: "x" }, false).expectPeer({ namespace: "x" }, {}, false).matrix(),
      },
    ],
  },
  {
    id: 3,
    name: "should enforce policy to allow traffic from pods within server namespace based on PodSelector",
    steps: [
      {
        policies: [
          ingressPolicy("x", "x-a-allows-x-b", { pod: "a" }, [
            { from: [{ podSelector: { matchLabels: { pod: "b" } } }] },
          ]),
        ],
        port: T80,
        expected: xaOnlyFrom(["x/b"]),
      },
    ],
  },
  {
    id: 4,
    name: "should enforce policy to allow ingress traffic for a target",
    steps: [
      {
        policies: [
          denyIngressX,
          ingressPolicy("x", "allow-all-to-a", { pod: "a" }, [{ from: [{ podSelector: {}, namespaceSelector: {} }] }]),
        ],
        port: T80,
        expected: exp().expectAllIngress("x/b", false).expectAllIngress("x/c", false).matrix(),
      },
    ],
  },
  {
    id: 5,
    name: "should enforce policy to allow ingress traffic from pods in all namespaces",
    steps: [
      {
        policies: [ingressPolicy("x", "allow-from-all-ns", { pod: "a" }, [{ from: [{ namespaceSelector: {} }] }])],
        port: T80,
        expected: exp().matrix(),
      },
    ],
  },
  {
    id: 6,
    name: "should enforce policy to allow traffic only from a different namespace, based on NamespaceSelector",
    steps: [
      {
        policies: [ingressPolicy("x", "allow-from-y", { pod: "a" }, [allowFromNsY()])],
        port: T80,
        expected: exp()
          .expectPeer({ namespace: "x" }, { namespace: "x", pod: "a" }, false)
          .expectPeer({ namespace: "z" }, { namespace: "x", pod: "a" }, false)
          .matrix(),
      },
    ],
  },
  {
    id: 7,
    name: "should enforce policy based on PodSelector with MatchExpressions",
    steps: [
      {
        policies: [
          ingressPolicy("x", "me-pod", { pod: "a" }, [
            { from: [{ podSelector: { matchExpressions: [{ key: "pod", operator: "In", values: ["b"] }] } }] },
          ]),
        ],
        port: T80,
        expected: xaOnlyFrom(["x/b"]),
      },
    ],
  },
  {
    id: 8,
    name: "should enforce policy based on NamespaceSelector with MatchExpressions",
    steps: [
      {
        policies: [
          ingressPolicy("x", "me-ns", { pod: "a" }, [
            { from: [{ namespaceSelector: { matchExpressions: [{ key: NS, operator: "In", values: ["y"] }] } }] },
          ]),
        ],
        port: T80,
        expected: exp()
          .expectPeer({ namespace: "x" }, { namespace: "x", pod: "a" }, false)
          .expectPeer({ namespace: "z" }, { namespace: "x", pod: "a" }, false)
          .matrix(),
      },
    ],
  },
  {
    id: 9,
    name: "should enforce policy based on PodSelector or NamespaceSelector",
    steps: [
      {
        policies: [
          ingressPolicy("x", "or", { pod: "a" }, [
            {
              from: [
                { namespaceSelector: { matchExpressions: [{ key: NS, operator: "NotIn", values: ["x"] }] } },
                { podSelector: { matchLabels: { pod: "b" } } },
              ],
            },
          ]),
        ],
        port: T80,
        expected: exp().expect("x/c", "x/a", false).matrix(),
      },
    ],
  },
  {
    id: 10,
    name: "should enforce policy based on PodSelector and NamespaceSelector",
    steps: [
      {
        policies: [
          ingressPolicy("x", "and", { pod: "a" }, [
            {
              from: [
                {
                  namespaceSelector: { matchExpressions: [{ key: NS, operator: "NotIn", values: ["x"] }] },
                  podSelector: { matchLabels: { pod: "b" } },
                },
              ],
            },
          ]),
        ],
        port: T80,
        expected: xaOnlyFrom(["y/b", "z/b"]),
      },
    ],
  },
  {
    id: 11,
    name: "should enforce policy based on Multiple PodSelectors and NamespaceSelectors",
    steps: [
      {
        policies: [
          ingressPolicy("x", "and-in", { pod: "a" }, [
            {
              from: [
                {
                  namespaceSelector: { matchExpressions: [{ key: NS, operator: "NotIn", values: ["x"] }] },
                  podSelector: { matchExpressions: [{ key: "pod", operator: "In", values: ["b", "c"] }] },
                },
              ],
            },
          ]),
        ],
        port: T80,
        expected: exp()
          .expectPeer({ namespace: "x" }, { namespace: "x", pod: "a" }, false)
          .expect("y/a", "x/a", false)
          .expect("z/a", "x/a", false)
          .matrix(),
      },
    ],
  },
  {
    id: 12,
    name: "should enforce policy based on any PodSelectors",
    steps: [
      {
        policies: [
          ingressPolicy("x", "two-pods", { pod: "a" }, [
            { from: [{ podSelector: { matchLabels: { pod: "b" } } }, { podSelector: { matchLabels: { pod: "c" } } }] },
          ]),
        ],
        port: T80,
        expected: xaOnlyFrom(["x/b", "x/c"]),
      },
    ],
  },
  ...[T80, U80, S80].map(
    (port): E2eCase => ({
      id: 13,
      name: `should enforce policy to allow traffic only from a pod in a different namespace based on PodSelector and NamespaceSelector (${port.protocol})`,
      steps: [
        {
          policies: [
            ingressPolicy("x", "ns-y-pod-a", { pod: "a" }, [
              {
                from: [
                  { namespaceSelector: { matchLabels: { [NS]: "y" } }, podSelector: { matchLabels: { pod: "a" } } },
                ],
              },
            ]),
          ],
          port,
          expected: xaOnlyFrom(["y/a"]),
        },
      ],
    }),
  ),
  {
    id: 14,
    name: "should enforce policy based on Ports",
    steps: [
      {
        policies: [ingressPolicy("x", "y-on-81", { pod: "a" }, [allowFromNsY([{ port: 81, protocol: "TCP" }])])],
        port: T81,
        expected: exp()
          .expectPeer({ namespace: "x" }, { namespace: "x", pod: "a" }, false)
          .expectPeer({ namespace: "z" }, { namespace: "x", pod: "a" }, false)
          .matrix(),
      },
      {
        policies: [ingressPolicy("x", "y-on-81", { pod: "a" }, [allowFromNsY([{ port: 81, protocol: "TCP" }])])],
        port: T80,
        expected: exp().expectAllIngress("x/a", false).matrix(),
      },
    ],
  },
  {
    id: 15,
    name: "should enforce multiple, stacked policies with overlapping podSelectors",
    steps: [
      {
        policies: [ingressPolicy("x", "y-on-81", { pod: "a" }, [allowFromNsY([{ port: 81, protocol: "TCP" }])])],
        port: T80,
        expected: exp().expectAllIngress("x/a", false).matrix(),
      },
      {
        policies: [
          ingressPolicy("x", "y-on-81", { pod: "a" }, [allowFromNsY([{ port: 81, protocol: "TCP" }])]),
          ingressPolicy("x", "y-on-80", { pod: "a" }, [allowFromNsY([{ port: 80, protocol: "TCP" }])]),
        ],
        port: T80,
        expected: exp()
          .expectPeer({ namespace: "x" }, { namespace: "x", pod: "a" }, false)
          .expectPeer({ namespace: "z" }, { namespace: "x", pod: "a" }, false)
          .matrix(),
      },
    ],
  },
  {
    id: 16,
    name: "should support allow-all policy",
    steps: [T80, T81].map((port) => ({
      policies: [np("x", "allow-all", { podSelector: {}, ingress: [{}], policyTypes: ["Ingress"] })],
      port,
      expected: exp().matrix(),
    })),
  },
  {
    id: 17,
    name: "should allow ingress access on one named port",
    steps: [
      {
        policies: [
          np("x", "named-81", {
            podSelector: {},
            ingress: [{ ports: [{ port: "serve-81-tcp" }] }],
            policyTypes: ["Ingress"],
          }),
        ],
        port: T81,
        expected: exp().matrix(),
      },
      {
        policies: [
          np("x", "named-81", {
            podSelector: {},
            ingress: [{ ports: [{ port: "serve-81-tcp" }] }],
            policyTypes: ["Ingress"],
          }),
        ],
        port: T80,
        expected: exp().expectPeer({}, { namespace: "x" }, false).matrix(),
      },
    ],
  },
  {
    id: 18,
    name: "should allow ingress access from namespace on one named port",
    steps: [
      {
        policies: [
          ingressPolicy("x", "y-named-80", { pod: "a" }, [allowFromNsY([{ port: "serve-80-tcp", protocol: "TCP" }])]),
        ],
        port: T80,
        expected: exp()
          .expectPeer({ namespace: "x" }, { namespace: "x", pod: "a" }, false)
          .expectPeer({ namespace: "z" }, { namespace: "x", pod: "a" }, false)
          .matrix(),
      },
      {
        policies: [
          ingressPolicy("x", "y-named-80", { pod: "a" }, [allowFromNsY([{ port: "serve-80-tcp", protocol: "TCP" }])]),
        ],
        port: T81,
        expected: exp().expectAllIngress("x/a", false).matrix(),
      },
    ],
  },
  {
    id: 19,
    name: "should allow egress access on one named port",
    steps: [
      {
        policies: [
          np("x", "egress-named-80", {
            podSelector: {},
            egress: [{ ports: [{ port: "serve-80-tcp" }] }],
            policyTypes: ["Egress"],
          }),
        ],
        port: T80,
        expected: exp().matrix(),
      },
      {
        policies: [
          np("x", "egress-named-80", {
            podSelector: {},
            egress: [{ ports: [{ port: "serve-80-tcp" }] }],
            policyTypes: ["Egress"],
          }),
        ],
        port: T81,
        expected: exp().expectPeer({ namespace: "x" }, {}, false).matrix(),
      },
    ],
  },
  {
    id: 20,
    name: "should enforce updated policy",
    steps: [
      {
        policies: [np("x", "allow-all-mutate", { podSelector: {}, ingress: [{}], policyTypes: ["Ingress"] })],
        port: T81,
        expected: exp().matrix(),
      },
      {
        policies: [np("x", "allow-all-mutate", { podSelector: {}, ingress: [], policyTypes: ["Ingress"] })],
        port: T81,
        expected: exp().expectPeer({}, { namespace: "x" }, false).matrix(),
      },
    ],
  },
  {
    id: 21,
    name: "should enforce policy to allow traffic only from a different namespace, based on NamespaceSelector [namespace label update]",
    steps: [false, true].map((labelled) => ({
      policies: [
        ingressPolicy("x", "ns2-updated", { pod: "a" }, [
          { from: [{ namespaceSelector: { matchLabels: { ns2: "updated" } } }] },
        ]),
      ],
      port: T80,
      ...(labelled ? { namespaceLabels: { y: { ns2: "updated" } } } : {}),
      expected: labelled
        ? exp()
            .expectAllIngress("x/a", false)
            .expectPeer({ namespace: "y" }, { namespace: "x", pod: "a" }, true)
            .matrix()
        : exp().expectAllIngress("x/a", false).matrix(),
    })),
  },
  {
    id: 22,
    name: "should allow ingress access from updated pod",
    steps: [false, true].map((labelled) => ({
      policies: [
        ingressPolicy("x", "pod2-updated", { pod: "a" }, [
          { from: [{ podSelector: { matchLabels: { pod: "b", pod2: "updated" } } }] },
        ]),
      ],
      port: T80,
      ...(labelled ? { podLabels: { "x/b": { pod2: "updated" } } } : {}),
      expected: labelled ? xaOnlyFrom(["x/b"]) : exp().expectAllIngress("x/a", false).matrix(),
    })),
  },
  {
    id: 24,
    name: "should deny ingress access to updated pod",
    steps: [false, true].map((labelled) => ({
      policies: [
        np("x", "deny-isolated", { podSelector: { matchLabels: { target: "isolated" } }, policyTypes: ["Ingress"] }),
      ],
      port: T80,
      ...(labelled ? { podLabels: { "x/a": { target: "isolated" } } } : {}),
      expected: labelled ? exp().expectAllIngress("x/a", false).matrix() : exp().matrix(),
    })),
  },
  {
    id: 23,
    name: "should deny ingress from pods on other namespaces",
    steps: [
      {
        policies: [
          np("x", "same-ns", { podSelector: {}, ingress: [{ from: [{ podSelector: {} }] }], policyTypes: ["Ingress"] }),
        ],
        port: T80,
        expected: exp()
          .expectPeer({ namespace: "y" }, { namespace: "x" }, false)
          .expectPeer({ namespace: "z" }, { namespace: "x" }, false)
          .matrix(),
      },
    ],
  },
  {
    id: 25,
    name: "should deny egress from pods based on PodSelector",
    steps: [
      {
        policies: [egressPolicy("x", "deny-egress-a", { pod: "a" }, [])],
        port: T80,
        expected: exp().expectAllEgress("x/a", false).matrix(),
      },
    ],
  },
  {
    id: 26,
    name: "should deny egress from all pods in a namespace",
    steps: [
      {
        policies: [np("x", "deny-egress-ns", { podSelector: {}, policyTypes: ["Egress"] })],
        port: T80,
        expected: exp().expectPeer({ namespace: "x" }, {}, false).matrix(),
      },
    ],
  },
  ...[T80, T81].map(
    (port): E2eCase => ({
      id: 27,
      name: `should work with Ingress, Egress specified together (${port.port})`,
      steps: [
        {
          policies: [
            np("x", "in-and-out", {
              podSelector: { matchLabels: { pod: "a" } },
              ingress: [{ from: [{ podSelector: { matchLabels: { pod: "b" } } }] }],
              egress: [{ ports: [{ port: 80 }] }],
              policyTypes: ["Egress", "Ingress"],
            }),
          ],
          port,
          expected:
            port.port === 80
              ? xaOnlyFrom(["x/b"])
              : (() => {
                  const e = exp()
                    .expectAllIngress("x/a", false)
                    .expect("x/b", "x/a", true)
                    .expectAllEgress("x/a", false);
                  return e.matrix();
                })(),
        },
      ],
    }),
  ),
  {
    id: 28,
    name: "should support denying of egress traffic on the client side (even if the server explicitly allows this traffic)",
    steps: [
      {
        policies: [
          egressPolicy("x", "x-a-to-y-a", { pod: "a" }, [
            { to: [{ namespaceSelector: { matchLabels: { [NS]: "y" } }, podSelector: { matchLabels: { pod: "a" } } }] },
          ]),
          ingressPolicy("y", "y-a-from-x-a", { pod: "a" }, [
            {
              from: [{ namespaceSelector: { matchLabels: { [NS]: "x" } }, podSelector: { matchLabels: { pod: "a" } } }],
            },
          ]),
          ingressPolicy("y", "y-b-from-x-a", { pod: "b" }, [
            {
              from: [{ namespaceSelector: { matchLabels: { [NS]: "x" } }, podSelector: { matchLabels: { pod: "a" } } }],
            },
          ]),
        ],
        port: T80,
        expected: exp()
          .expectAllEgress("x/a", false)
          .expectAllIngress("y/a", false)
          .expectAllIngress("y/b", false)
          .expect("x/a", "y/a", true)
          .matrix(),
      },
    ],
  },
  {
    id: 29,
    name: "should enforce egress policy allowing traffic to a server in a different namespace based on PodSelector and NamespaceSelector",
    steps: [
      {
        policies: [
          egressPolicy("x", "x-a-to-y-a", { pod: "a" }, [
            { to: [{ namespaceSelector: { matchLabels: { [NS]: "y" } }, podSelector: { matchLabels: { pod: "a" } } }] },
          ]),
        ],
        port: T80,
        expected: exp().expectAllEgress("x/a", false).expect("x/a", "y/a", true).matrix(),
      },
    ],
  },
  ...[T80, U80].map(
    (port): E2eCase => ({
      id: 30,
      name: `should enforce ingress policy allowing any port traffic to a server on a specific protocol (${port.protocol})`,
      steps: [
        {
          policies: [ingressPolicy("x", "tcp-only", { pod: "a" }, [{ ports: [{ protocol: "TCP" }] }])],
          port,
          expected: port.protocol === "TCP" ? exp().matrix() : exp().expectAllIngress("x/a", false).matrix(),
        },
      ],
    }),
  ),
  {
    id: 31,
    name: "should enforce multiple ingress policies with ingress allow-all policy taking precedence",
    steps: [
      {
        policies: [
          np("x", "only-80", { podSelector: {}, ingress: [{ ports: [{ port: 80 }] }], policyTypes: ["Ingress"] }),
        ],
        port: T81,
        expected: exp().expectPeer({}, { namespace: "x" }, false).matrix(),
      },
      {
        policies: [
          np("x", "only-80", { podSelector: {}, ingress: [{ ports: [{ port: 80 }] }], policyTypes: ["Ingress"] }),
          np("x", "allow-all", { podSelector: {}, ingress: [{}], policyTypes: ["Ingress"] }),
        ],
        port: T81,
        expected: exp().matrix(),
      },
    ],
  },
  {
    id: 32,
    name: "should enforce multiple egress policies with egress allow-all policy taking precedence",
    steps: [
      {
        policies: [
          np("x", "only-80", { podSelector: {}, egress: [{ ports: [{ port: 80 }] }], policyTypes: ["Egress"] }),
        ],
        port: T81,
        expected: exp().expectPeer({ namespace: "x" }, {}, false).matrix(),
      },
      {
        policies: [
          np("x", "only-80", { podSelector: {}, egress: [{ ports: [{ port: 80 }] }], policyTypes: ["Egress"] }),
          np("x", "allow-all", { podSelector: {}, egress: [{}], policyTypes: ["Egress"] }),
        ],
        port: T81,
        expected: exp().matrix(),
      },
    ],
  },
  {
    id: 33,
    name: "should stop enforcing policies after they are deleted",
    steps: [
      {
        policies: [np("x", "deny-all", { podSelector: {}, policyTypes: ["Ingress", "Egress"] })],
        port: T80,
        expected: exp().expectPeer({}, { namespace: "x" }, false).expectPeer({ namespace: "x" }, {}, false).matrix(),
      },
      { policies: [], port: T80, expected: exp().matrix() },
    ],
  },
  {
    id: 34,
    name: "should allow egress access to server in CIDR block",
    steps: [
      {
        policies: [egressPolicy("x", "to-y-b-ip", { pod: "a" }, [{ to: [{ ipBlock: { cidr: `${ip("y/b")}/32` } }] }])],
        port: T80,
        expected: exp().expectAllEgress("x/a", false).expect("x/a", "y/b", true).matrix(),
      },
    ],
  },
  {
    id: 35,
    name: "should enforce except clause while egress access to server in CIDR block",
    steps: [
      {
        policies: [
          egressPolicy("x", "except-x-b", { pod: "a" }, [
            { to: [{ ipBlock: { cidr: `${ip("x/b")}/4`, except: [`${ip("x/b")}/32`] } }] },
          ]),
        ],
        port: T80,
        expected: exp().expect("x/a", "x/b", false).matrix(),
      },
    ],
  },
  {
    id: 36,
    name: "should ensure an IP overlapping both IPBlock.CIDR and IPBlock.Except is allowed",
    steps: [
      {
        policies: [
          egressPolicy("x", "except-x-b", { pod: "a" }, [
            { to: [{ ipBlock: { cidr: `${ip("x/b")}/4`, except: [`${ip("x/b")}/32`] } }] },
          ]),
        ],
        port: T80,
        expected: exp().expect("x/a", "x/b", false).matrix(),
      },
      {
        policies: [egressPolicy("x", "except-x-b", { pod: "a" }, [{ to: [{ ipBlock: { cidr: `${ip("x/b")}/32` } }] }])],
        port: T80,
        expected: exp().expectAllEgress("x/a", false).expect("x/a", "x/b", true).matrix(),
      },
      {
        // Not an upstream step: the union the reference describes (except in one policy,
        // the excepted IP allowed by another).
        policies: [
          egressPolicy("x", "except-x-b", { pod: "a" }, [
            { to: [{ ipBlock: { cidr: `${ip("x/b")}/4`, except: [`${ip("x/b")}/32`] } }] },
          ]),
          egressPolicy("x", "allow-x-b", { pod: "a" }, [{ to: [{ ipBlock: { cidr: `${ip("x/b")}/32` } }] }]),
        ],
        port: T80,
        expected: exp().matrix(),
      },
    ],
  },
  {
    id: 37,
    name: "should enforce policies to check ingress and egress policies can be controlled independently based on PodSelector",
    steps: [
      { policies: [egressPolicy("x", "allow-egress-a", { pod: "a" }, [{}])], port: T80, expected: exp().matrix() },
      {
        policies: [
          egressPolicy("x", "allow-egress-a", { pod: "a" }, [{}]),
          ingressPolicy("x", "deny-ingress-a", { pod: "a" }, []),
        ],
        port: T80,
        expected: exp().expectAllIngress("x/a", false).matrix(),
      },
    ],
  },
  {
    id: 38,
    name: "should not allow access by TCP when a policy specifies only SCTP",
    steps: [
      {
        policies: [
          denyIngressX,
          ingressPolicy("x", "sctp-81", { pod: "a" }, [{ ports: [{ port: 81, protocol: "SCTP" }] }]),
        ],
        port: T81,
        expected: exp().expectPeer({}, { namespace: "x" }, false).matrix(),
      },
    ],
  },
  {
    id: 39,
    name: "should not allow access by TCP when a policy specifies only SCTP (policy on pod)",
    steps: [
      {
        policies: [ingressPolicy("x", "sctp-80", { pod: "a" }, [{ ports: [{ port: 80, protocol: "SCTP" }] }])],
        port: T81,
        expected: exp().expectAllIngress("x/a", false).matrix(),
      },
    ],
  },
  {
    id: 40,
    name: "should not allow access by TCP when a policy specifies only UDP",
    steps: [
      {
        policies: [ingressPolicy("x", "udp-81", { pod: "a" }, [{ ports: [{ port: 81, protocol: "UDP" }] }])],
        port: T81,
        expected: exp().expectAllIngress("x/a", false).matrix(),
      },
    ],
  },
  {
    id: 41,
    name: "should enforce egress policy with NotIn on the namespace name label",
    steps: [
      {
        policies: [
          egressPolicy("x", "not-to-y", { pod: "a" }, [
            { to: [{ namespaceSelector: { matchExpressions: [{ key: NS, operator: "NotIn", values: ["y"] }] } }] },
          ]),
        ],
        port: T80,
        expected: exp().expectPeer({ namespace: "x", pod: "a" }, { namespace: "y" }, false).matrix(),
      },
    ],
  },
];
