import type { Profile } from "./types.js";

/**
 * The default profile: what upstream conformance and most CNIs do. A pod may
 * always reach itself, hostNetwork pods are node traffic, node-to-pod traffic is
 * allowed, and ipBlock matches pod IPs in both directions (as kube-network-policies
 * and cyclonus do).
 */
export const defaultProfile: Profile = {
  name: "default",
  selfTraffic: "allow",
  hostNetworkPods: "node",
  nodeTraffic: "allow",
  ipBlockMatchesPodIPs: { ingress: true, egress: true },
};

/**
 * A strict profile: nothing is exempt. Pod-to-self and node traffic are
 * evaluated like any flow, hostNetwork pods are ordinary pods.
 */
export const strictProfile: Profile = {
  name: "strict",
  selfTraffic: "evaluate",
  hostNetworkPods: "pod",
  nodeTraffic: "evaluate",
  ipBlockMatchesPodIPs: { ingress: true, egress: true },
};
