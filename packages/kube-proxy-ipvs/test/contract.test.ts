import { runProxyContract } from "@knet/kube-proxy/contract";
import { IpvsEngine } from "../src/index.js";

runProxyContract({
  mode: "ipvs",
  create: (o) => new IpvsEngine(o),
  skip: [
    {
      reason:
        "IPVS mode gives eTP=Local virtual servers the cluster endpoints when the node has no local one " +
        "(pkg/proxy/ipvs syncEndpoint, kubernetes#97081): external traffic is forwarded, not dropped",
      tests: ["NodePort eTP=Local without local endpoints drops external traffic"],
    },
    {
      reason:
        "IPVS mode writes no 'has no local endpoints' DROP: an iTP=Local ClusterIP without local endpoints is a " +
        "virtual server with no real servers, and ip_vs_leave() answers ICMP port unreachable (a reject)",
      tests: ["iTP=Local: only local endpoints; none local drops"],
    },
    {
      reason:
        "IPVS mode masquerades hairpin traffic through KUBE-LOOP-BACK, which lists only endpoints on this node; " +
        "the contract's endpoint has no nodeName (hairpin with a local endpoint is tested in engine.test.ts)",
      tests: ["hairpin: an endpoint reaching itself through the service is masqueraded"],
    },
  ],
});
