// Use the IPAM allocators on their own: ClusterIPs as kube-apiserver hands them
// out (static band below, dynamic picks above), NodePorts, and node pod CIDRs.
import { NodeCidrAllocator, NodePortAllocator, ServiceIpAllocator } from "@knet/ipam";

const ips = new ServiceIpAllocator("10.96.0.0/12");
console.log(`kubernetes service: ${ips.kubernetesServiceIp()}`);
console.log(`static request 10.96.0.10 (kube-dns): ${ips.allocate("10.96.0.10")}`);
const dynamic = Array.from({ length: 3 }, () => ips.allocateNext().toString());
console.log(`dynamic picks: ${dynamic.join(", ")}`);
try {
  ips.allocate("10.96.0.10");
} catch (e) {
  console.log(`asking twice: ${e.message}`);
}

const ports = new NodePortAllocator();
console.log(`node ports: ${ports.allocate(30080)}, ${ports.allocateNext()}`);

const nodes = new NodeCidrAllocator({ clusterCidrs: ["10.244.0.0/16"], nodeMaskSizeV4: 24 });
for (const n of ["node-a", "node-b", "node-c"]) console.log(`${n}: ${nodes.allocateOrOccupy(n).join(", ")}`);
