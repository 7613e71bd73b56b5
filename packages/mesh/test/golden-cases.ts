import type { CaptureConfig } from "@knet/mesh";

/**
 * The configurations of istio's `tools/istio-iptables/pkg/capture/run_test.go`
 * (`getCommonTestCases`) and of `tools/istio-nftables/pkg/capture/run_test.go`,
 * at istio/istio@86c9f01, applied on top of their `constructTestConfig()`.
 * `nftOnly` marks the case only the nftables test has.
 */
export const BASE: Partial<CaptureConfig> = {
  proxyPort: "15001",
  inboundCapturePort: "15006",
  inboundTunnelPort: "15008",
  proxyUid: "1337",
  proxyGid: "1337",
  inboundTProxyMark: "1337",
  inboundTProxyRouteTable: "133",
  ownerGroupsInclude: "*",
  hostIpv4LoopbackCidr: "127.0.0.1/32",
};

export interface GoldenCase {
  readonly name: string;
  readonly config: Partial<CaptureConfig>;
  readonly nftOnly?: boolean;
}

export const CASES: readonly GoldenCase[] = [
  { name: "ipv6-empty-inbound-ports", config: { inboundPortsInclude: "", enableIpv6: true } },
  {
    name: "ip-range",
    config: {
      outboundIpRangesExclude: "1.1.0.0/16",
      outboundIpRangesInclude: "9.9.0.0/16",
      redirectDns: true,
      enableIpv6: false,
      proxyGid: "1,2",
      proxyUid: "3,4",
      dnsServersV4: ["127.0.0.53"],
    },
  },
  {
    name: "tproxy",
    config: {
      inboundInterceptionMode: "TPROXY",
      inboundPortsInclude: "*",
      outboundIpRangesExclude: "1.1.0.0/16",
      outboundIpRangesInclude: "9.9.0.0/16",
      redirectDns: true,
      dnsServersV4: ["127.0.0.53"],
      proxyGid: "1337",
      proxyUid: "1337",
      excludeInterfaces: "not-istio-nic",
      enableIpv6: true,
    },
  },
  { name: "ipv6-inbound-ports", config: { inboundPortsInclude: "4000,5000", enableIpv6: true } },
  {
    name: "ipv6-virt-interfaces",
    config: { inboundPortsInclude: "4000,5000", kubeVirtInterfaces: "eth0,eth1", enableIpv6: true },
  },
  {
    name: "ipv6-ipnets",
    config: {
      inboundPortsInclude: "4000,5000",
      inboundPortsExclude: "6000,7000,",
      kubeVirtInterfaces: "eth0,eth1",
      outboundIpRangesExclude: "2001:db8::/32",
      outboundIpRangesInclude: "2001:db8::/32",
      enableIpv6: true,
    },
  },
  {
    name: "ipv6-uid-gid",
    config: {
      inboundPortsInclude: "4000,5000",
      inboundPortsExclude: "6000,7000",
      kubeVirtInterfaces: "eth0,eth1",
      proxyGid: "1,2",
      proxyUid: "3,4",
      enableIpv6: true,
      outboundIpRangesExclude: "2001:db8::/32",
      outboundIpRangesInclude: "2001:db8::/32",
    },
  },
  {
    name: "ipv6-outbound-ports",
    config: { inboundPortsInclude: "", outboundPortsInclude: "32000,31000", enableIpv6: true },
  },
  { name: "empty", config: {} },
  { name: "kube-virt-interfaces", config: { kubeVirtInterfaces: "eth1,eth2", outboundIpRangesInclude: "*" } },
  { name: "ipnets", config: { outboundIpRangesInclude: "10.0.0.0/8" } },
  {
    name: "ipnets-with-kube-virt-interfaces",
    config: { kubeVirtInterfaces: "eth1,eth2", outboundIpRangesInclude: "10.0.0.0/8" },
  },
  { name: "inbound-ports-include", config: { inboundPortsInclude: "32000,31000" } },
  { name: "inbound-ports-wildcard", config: { inboundPortsInclude: "*" } },
  { name: "inbound-ports-tproxy", config: { inboundPortsInclude: "32000,31000", inboundInterceptionMode: "TPROXY" } },
  { name: "inbound-ports-wildcard-tproxy", config: { inboundPortsInclude: "*", inboundInterceptionMode: "TPROXY" } },
  {
    name: "inbound-ports-empty-tproxy",
    config: { inboundPortsInclude: "", inboundInterceptionMode: "TPROXY" },
    nftOnly: true,
  },
  {
    name: "dns-uid-gid",
    config: {
      redirectDns: true,
      dnsServersV4: ["127.0.0.53"],
      dnsServersV6: ["::127.0.0.53"],
      proxyGid: "1,2",
      proxyUid: "3,4",
      enableIpv6: true,
    },
  },
  { name: "ipv6-dns-uid-gid", config: { enableIpv6: true, redirectDns: true, proxyGid: "1,2", proxyUid: "3,4" } },
  { name: "outbound-owner-groups", config: { ownerGroupsInclude: "java,202" } },
  { name: "outbound-owner-groups-exclude", config: { ownerGroupsExclude: "888,ftp" } },
  {
    name: "ipv6-dns-outbound-owner-groups",
    config: { enableIpv6: true, redirectDns: true, ownerGroupsInclude: "java,202" },
  },
  {
    name: "ipv6-dns-outbound-owner-groups-exclude",
    config: { enableIpv6: true, redirectDns: true, ownerGroupsExclude: "888,ftp" },
  },
  { name: "outbound-ports-include", config: { outboundPortsInclude: "32000,31000" } },
  {
    name: "loopback-outbound-iprange",
    config: {
      outboundIpRangesInclude: "127.1.2.3/32",
      redirectDns: true,
      dnsServersV4: ["127.0.0.53"],
      enableIpv6: false,
      proxyGid: "1,2",
      proxyUid: "3,4",
    },
  },
  { name: "basic-exclude-nic", config: { excludeInterfaces: "not-istio-nic" } },
  { name: "drop-invalid", config: { dropInvalid: true } },
  { name: "host-ipv4-loopback-cidr", config: { hostIpv4LoopbackCidr: "127.0.0.1/8" } },
];
