import { runProxyContract } from "@knet/kube-proxy/contract";
import { EbpfEngine } from "../src/index.js";

runProxyContract({
  mode: "ebpf",
  create: (o) => new EbpfEngine(o),
  skip: [
    {
      reason:
        "Cilium marks ClusterIP frontends non-routable (no --bpf-lb-external-clusterip): traffic from outside the " +
        "cluster to a ClusterIP is dropped by the NodePort datapath, not translated and masqueraded",
      tests: ["ClusterIP: traffic from outside the cluster CIDR is masqueraded"],
    },
    {
      reason:
        "socket-level load balancing rewrites connect() inside the client's own socket and never source-NATs; " +
        "Cilium has no --masquerade-all for service traffic",
      tests: ["ClusterIP: masqueradeAll masquerades pod traffic"],
    },
    {
      reason:
        "an iTP=Local frontend without local backends has COUNT=0; Cilium's socket LB fails connect() with " +
        "EHOSTUNREACH (a reject), it has no separate drop for the Local policy",
      tests: ["iTP=Local: only local endpoints; none local drops"],
    },
    {
      reason:
        "traffic from outside the node to a frontend without backends meets Cilium's per-packet NodePort path, " +
        "which drops it (DROP_NO_SERVICE); only the socket LB (pod and host traffic) rejects",
      tests: ["no endpoints: ClusterIP, NodePort and externalIP traffic is rejected"],
    },
  ],
});
