import type { CaptureConfig } from "@knet/mesh";
import fc from "fast-check";

const port = fc.integer({ min: 1, max: 65535 }).map(String);
const ports = fc.array(port, { maxLength: 4 }).map((p) => p.join(","));
const ids = fc
  .array(fc.integer({ min: 0, max: 65534 }).map(String), { minLength: 1, maxLength: 3 })
  .map((p) => p.join(","));
const nics = fc.array(fc.constantFrom("eth0", "eth1", "net1", "veth-x"), { maxLength: 2 }).map((p) => p.join(","));
const v4 = fc
  .tuple(fc.integer({ min: 1, max: 223 }), fc.integer({ min: 0, max: 255 }), fc.integer({ min: 8, max: 32 }))
  .map(([a, b, len]) => `${a}.${b}.0.0/${len}`);
const v6 = fc
  .tuple(fc.integer({ min: 0x2001, max: 0x2fff }), fc.integer({ min: 16, max: 128 }))
  .map(([a, len]) => `${a.toString(16)}::/${len}`);
const cidrs = fc.array(fc.oneof(v4, v6), { maxLength: 3 }).map((c) => c.join(","));

/** Any configuration istio-iptables accepts. */
export const configArb: fc.Arbitrary<Partial<CaptureConfig>> = fc.record(
  {
    proxyUid: ids,
    proxyGid: ids,
    inboundInterceptionMode: fc.constantFrom("", "REDIRECT", "TPROXY"),
    inboundPortsInclude: fc.oneof(fc.constant("*"), ports),
    inboundPortsExclude: ports,
    outboundPortsInclude: ports,
    outboundPortsExclude: ports,
    outboundIpRangesInclude: fc.oneof(fc.constant("*"), cidrs),
    outboundIpRangesExclude: cidrs,
    kubeVirtInterfaces: nics,
    excludeInterfaces: nics,
    ownerGroupsInclude: fc.oneof(fc.constant("*"), ids),
    ownerGroupsExclude: fc.oneof(fc.constant(""), ids),
    redirectDns: fc.boolean(),
    captureAllDns: fc.boolean(),
    dropInvalid: fc.boolean(),
    enableIpv6: fc.boolean(),
    dnsServersV4: fc.array(fc.constantFrom("10.96.0.10", "127.0.0.53"), { maxLength: 2 }),
    dnsServersV6: fc.array(fc.constantFrom("fd00::a", "::127.0.0.53"), { maxLength: 1 }),
  },
  { requiredKeys: [] },
);
