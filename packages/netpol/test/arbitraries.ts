/**
 * fast-check generators of random policies over the upstream e2e model (pods
 * x/a..z/c, ports 80/81), shared by the property tests and the kernel
 * differential test.
 */

import type {
  AdminNetworkPolicy,
  AdminNetworkPolicyEgressPeer,
  AdminNetworkPolicyPort,
  BaselineAdminNetworkPolicy,
  LabelSelector,
  NetworkPolicy,
  NetworkPolicyPeer,
  NetworkPolicyPort,
  Pod,
} from "@knet/k8s";
import type { PolicyClusterState } from "@knet/netpol";
import fc from "fast-check";
import { MODEL } from "./e2e-cases.js";

const NS = "kubernetes.io/metadata.name";
const POD_IPS = MODEL.pods.map((p) => p.status?.podIP as string);

export const podSelectorArb: fc.Arbitrary<LabelSelector> = fc.oneof<fc.Arbitrary<LabelSelector>[]>(
  fc.constant({}),
  fc.constantFrom("a", "b", "c").map((p) => ({ matchLabels: { pod: p } })),
  fc
    .subarray(["a", "b", "c"], { minLength: 1 })
    .map((v) => ({ matchExpressions: [{ key: "pod", operator: "In", values: v }] })),
  fc
    .subarray(["a", "b", "c"], { minLength: 1 })
    .map((v) => ({ matchExpressions: [{ key: "pod", operator: "NotIn", values: v }] })),
  // role is a label only some pods carry: NotIn/DoesNotExist match pods without it.
  fc.constantFrom("web", "db").map((r) => ({ matchExpressions: [{ key: "role", operator: "NotIn", values: [r] }] })),
  fc.constant({ matchExpressions: [{ key: "role", operator: "Exists" }] }),
  fc.constant({ matchExpressions: [{ key: "role", operator: "DoesNotExist" }] }),
  fc.constantFrom("web", "db").map((r) => ({ matchLabels: { role: r } })),
);

export const nsSelectorArb: fc.Arbitrary<LabelSelector> = fc.oneof<fc.Arbitrary<LabelSelector>[]>(
  fc.constant({}),
  fc.constantFrom("x", "y", "z").map((n) => ({ matchLabels: { [NS]: n } })),
  fc
    .subarray(["x", "y", "z"], { minLength: 1 })
    .map((v) => ({ matchExpressions: [{ key: NS, operator: "NotIn", values: v }] })),
  fc.constantFrom("x", "y", "z").map((n) => ({ matchLabels: { ns: n } })),
);

const ipBlockArb: fc.Arbitrary<NetworkPolicyPeer> = fc.oneof<fc.Arbitrary<NetworkPolicyPeer>[]>(
  fc.constantFrom(...POD_IPS).map((ip) => ({ ipBlock: { cidr: `${ip}/32` } })),
  fc
    .subarray(POD_IPS, { maxLength: 3 })
    .map((ex) => ({ ipBlock: { cidr: "10.77.0.0/16", except: ex.map((ip) => `${ip}/32`) } })),
  fc.constant({ ipBlock: { cidr: "10.77.0.0/20", except: ["10.77.8.0/21"] } }),
  fc.constant({ ipBlock: { cidr: "192.168.0.0/16" } }),
);

export const peerArb: fc.Arbitrary<NetworkPolicyPeer> = fc.oneof<fc.Arbitrary<NetworkPolicyPeer>[]>(
  podSelectorArb.map((podSelector) => ({ podSelector })),
  nsSelectorArb.map((namespaceSelector) => ({ namespaceSelector })),
  fc
    .tuple(nsSelectorArb, podSelectorArb)
    .map(([namespaceSelector, podSelector]) => ({ namespaceSelector, podSelector })),
  ipBlockArb,
);

export const portArb: fc.Arbitrary<NetworkPolicyPort> = fc.constantFrom<NetworkPolicyPort>(
  { port: 80, protocol: "TCP" },
  { port: 81, protocol: "UDP" },
  { port: 81 },
  { protocol: "UDP" },
  { protocol: "TCP" },
  { port: "serve-80-tcp" },
  { port: "serve-81-udp", protocol: "UDP" },
  { port: "serve-81-tcp", protocol: "UDP" },
  { port: 79, endPort: 81, protocol: "UDP" },
  { port: 80, endPort: 80, protocol: "TCP" },
  { port: 80, protocol: "SCTP" },
);

const ruleArb = (dir: "from" | "to") =>
  fc.record(
    { [dir]: fc.array(peerArb, { maxLength: 2 }), ports: fc.array(portArb, { maxLength: 2 }) },
    { requiredKeys: [] },
  ) as fc.Arbitrary<{ from?: NetworkPolicyPeer[]; to?: NetworkPolicyPeer[]; ports?: NetworkPolicyPort[] }>;

export const networkPolicyArb: fc.Arbitrary<Omit<NetworkPolicy, "metadata"> & { ns: string }> = fc
  .record(
    {
      ns: fc.constantFrom("x", "y", "z"),
      podSelector: podSelectorArb,
      policyTypes: fc.constantFrom<string[] | undefined>(undefined, ["Ingress"], ["Egress"], ["Ingress", "Egress"]),
      ingress: fc.option(fc.array(ruleArb("from"), { maxLength: 2 }), { nil: undefined }),
      egress: fc.option(fc.array(ruleArb("to"), { maxLength: 2 }), { nil: undefined }),
    },
    { requiredKeys: ["ns", "podSelector"] },
  )
  .map(({ ns, ...spec }) => ({ ns, spec: spec as NetworkPolicy["spec"] & object }));

const adminPortArb: fc.Arbitrary<AdminNetworkPolicyPort> = fc.constantFrom<AdminNetworkPolicyPort>(
  { portNumber: { protocol: "TCP", port: 80 } },
  { portNumber: { protocol: "UDP", port: 81 } },
  { portRange: { protocol: "UDP", start: 80, end: 81 } },
  { portRange: { protocol: "TCP", start: 81, end: 90 } },
  { namedPort: "serve-81-udp" },
  { namedPort: "serve-80-tcp" },
);

const adminPeerArb = (egress: boolean): fc.Arbitrary<AdminNetworkPolicyEgressPeer> => {
  const base: fc.Arbitrary<AdminNetworkPolicyEgressPeer>[] = [
    nsSelectorArb.map((namespaces) => ({ namespaces })),
    fc
      .tuple(nsSelectorArb, podSelectorArb)
      .map(([namespaceSelector, podSelector]) => ({ pods: { namespaceSelector, podSelector } })),
  ];
  if (egress) {
    base.push(
      fc.constantFrom(...POD_IPS).map((ip) => ({ networks: [`${ip}/32`] })),
      fc.constant({ networks: ["10.77.0.0/20", "10.77.16.0/24"] }),
    );
  }
  return fc.oneof(...base);
};

const adminRuleArb = (actions: readonly string[], dir: "from" | "to") =>
  fc
    .record(
      {
        action: fc.constantFrom(...actions),
        peers: fc.array(adminPeerArb(dir === "to"), { minLength: 1, maxLength: 2 }),
        ports: fc.option(fc.array(adminPortArb, { minLength: 1, maxLength: 2 }), { nil: undefined }),
      },
      { requiredKeys: ["action", "peers"] },
    )
    .map(({ action, peers, ports }) => {
      // namedPort may not be combined with networks peers (CEL rule upstream).
      const p = ports?.filter((x) => x.namedPort === undefined || !peers.some((q) => q.networks !== undefined));
      return { action, [dir]: peers, ...(p === undefined || p.length === 0 ? {} : { ports: p }) };
    });

const subjectArb = fc.oneof(
  nsSelectorArb.map((namespaces) => ({ namespaces })),
  fc
    .tuple(nsSelectorArb, podSelectorArb)
    .map(([namespaceSelector, podSelector]) => ({ pods: { namespaceSelector, podSelector } })),
);

export const adminPolicyArb = (name: string, priority: number): fc.Arbitrary<AdminNetworkPolicy> =>
  fc
    .record({
      subject: subjectArb,
      ingress: fc.array(adminRuleArb(["Allow", "Deny", "Pass"], "from"), { maxLength: 2 }),
      egress: fc.array(adminRuleArb(["Allow", "Deny", "Pass"], "to"), { maxLength: 2 }),
    })
    .map((spec) => ({
      apiVersion: "policy.networking.k8s.io/v1alpha1",
      kind: "AdminNetworkPolicy",
      metadata: { name },
      spec: { priority, ...spec } as AdminNetworkPolicy["spec"],
    }));

export const baselineArb: fc.Arbitrary<BaselineAdminNetworkPolicy> = fc
  .record({
    subject: subjectArb,
    ingress: fc.array(adminRuleArb(["Allow", "Deny"], "from"), { maxLength: 2 }),
    egress: fc.array(adminRuleArb(["Allow", "Deny"], "to"), { maxLength: 2 }),
  })
  .map((spec) => ({
    apiVersion: "policy.networking.k8s.io/v1alpha1",
    kind: "BaselineAdminNetworkPolicy",
    metadata: { name: "default" },
    spec: spec as BaselineAdminNetworkPolicy["spec"],
  }));

/** Pods of the model with a random `role` label on some of them. */
const podsArb: fc.Arbitrary<Pod[]> = fc
  .array(fc.constantFrom<string | undefined>(undefined, "web", "db"), {
    minLength: MODEL.pods.length,
    maxLength: MODEL.pods.length,
  })
  .map((roles) =>
    MODEL.pods.map((p, i) =>
      roles[i] === undefined
        ? p
        : { ...p, metadata: { ...p.metadata, labels: { ...p.metadata?.labels, role: roles[i] as string } } },
    ),
  );

export function named(list: readonly (Omit<NetworkPolicy, "metadata"> & { ns: string })[]): NetworkPolicy[] {
  return list.map(({ ns, ...rest }, i) => ({
    apiVersion: "networking.k8s.io/v1",
    kind: "NetworkPolicy",
    metadata: { namespace: ns, name: `p${i}` },
    ...rest,
  }));
}

/** A random cluster state over the model: NetworkPolicies, optionally ANPs (distinct priorities) and a BANP. */
export const stateArb = (withAdmin: boolean): fc.Arbitrary<PolicyClusterState & { networkPolicies: NetworkPolicy[] }> =>
  fc
    .record({
      pods: podsArb,
      nps: fc.array(networkPolicyArb, { maxLength: 4 }),
      anps: withAdmin
        ? fc
            .uniqueArray(fc.integer({ min: 0, max: 20 }), { maxLength: 3 })
            .chain((prios) => fc.tuple(...prios.map((p, i) => adminPolicyArb(`anp${i}`, p))))
            .map((t): AdminNetworkPolicy[] => [...t])
        : fc.constant<AdminNetworkPolicy[]>([]),
      banp: withAdmin ? fc.option(baselineArb, { nil: undefined }) : fc.constant(undefined),
    })
    .map(({ pods, nps, anps, banp }) => ({
      namespaces: MODEL.namespaces,
      pods,
      networkPolicies: named(nps),
      adminNetworkPolicies: anps,
      ...(banp === undefined ? {} : { baselineAdminNetworkPolicy: banp }),
    }));
