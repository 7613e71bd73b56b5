/** A policy set (and an IPv6 pod) touching every construct the nft compiler emits. */
import type { AdminNetworkPolicy, NetworkPolicy, Pod } from "@knet/k8s";

export const v6pod: Pod = {
  metadata: { namespace: "x", name: "v6", labels: { pod: "v6" } },
  spec: { containers: [{ name: "c", ports: [{ name: "serve-80-tcp", containerPort: 80 }] }] },
  status: { podIP: "fd00::6", podIPs: [{ ip: "fd00::6" }] },
};

export const FEATURES: { networkPolicies: NetworkPolicy[]; adminNetworkPolicies: AdminNetworkPolicy[] } = {
  networkPolicies: [
    {
      metadata: { namespace: "x", name: "all-features" },
      spec: {
        podSelector: {},
        policyTypes: ["Ingress", "Egress"],
        ingress: [
          {
            from: [{ ipBlock: { cidr: "10.77.0.0/16", except: ["10.77.1.0/24"] } }],
            ports: [{ port: 80, endPort: 90, protocol: "UDP" }],
          },
          {
            from: [{ podSelector: { matchLabels: { pod: "b" } } }],
            ports: [{ port: "serve-81-tcp" }, { protocol: "SCTP" }],
          },
          { from: [{ ipBlock: { cidr: "fd00::/64" } }] },
        ],
        egress: [
          {
            to: [{ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "y" } } }],
            ports: [{ port: "serve-80-tcp" }],
          },
        ],
      },
    },
  ],
  adminNetworkPolicies: [
    {
      metadata: { name: "pass-then-deny" },
      spec: {
        priority: 5,
        subject: { namespaces: { matchLabels: { "kubernetes.io/metadata.name": "y" } } },
        ingress: [
          {
            name: "pass-x",
            action: "Pass",
            from: [{ namespaces: { matchLabels: { "kubernetes.io/metadata.name": "x" } } }],
          },
          {
            name: "deny-z",
            action: "Deny",
            from: [{ namespaces: { matchLabels: { "kubernetes.io/metadata.name": "z" } } }],
            ports: [{ portRange: { protocol: "TCP", start: 80, end: 81 } }],
          },
        ],
      },
    },
  ],
};
