import { iptablesCapture, MeshError, nftablesCapture, parseIstioIptablesArgs } from "@knet/mesh";
import { describe, expect, it } from "vitest";

describe("istio-iptables command line and environment", () => {
  it("reads short and long flags in every spelling pflag accepts", () => {
    const { config, rest } = parseIstioIptablesArgs([
      "-p",
      "15001",
      "-z=15006",
      "-u1337",
      "--proxy-gid",
      "1338",
      "--istio-inbound-ports=*",
      "-m",
      "TPROXY",
      "-x",
      "10.0.0.0/8",
      "--redirect-dns",
      "--drop-invalid=false",
      "extra",
    ]);
    expect(config).toEqual({
      proxyPort: "15001",
      inboundCapturePort: "15006",
      proxyUid: "1337",
      proxyGid: "1338",
      inboundPortsInclude: "*",
      inboundInterceptionMode: "TPROXY",
      outboundIpRangesExclude: "10.0.0.0/8",
      redirectDns: true,
      dropInvalid: false,
    });
    expect(rest).toEqual(["extra"]);
  });

  it("reads each flag's environment variables as its default, the flag overriding", () => {
    const env = {
      ISTIO_INBOUND_PORTS: "80,443",
      ISTIO_META_DNS_CAPTURE: "true",
      INVALID_DROP: "1",
      ISTIO_OUTBOUND_OWNER_GROUPS: "java,202",
      ISTIO_OUTBOUND_OWNER_GROUPS_EXCLUDE: "888",
      ISTIO_OUTBOUND_IPV4_LOOPBACK_CIDR: "127.0.0.1/8",
    };
    expect(parseIstioIptablesArgs(["-b", "8080"], env).config).toEqual({
      inboundPortsInclude: "8080",
      redirectDns: true,
      dropInvalid: true,
      ownerGroupsInclude: "java,202",
      ownerGroupsExclude: "888",
      hostIpv4LoopbackCidr: "127.0.0.1/8",
    });
    // REDIRECT_DNS is the flag's own variable and wins over the additional one.
    expect(
      parseIstioIptablesArgs([], { REDIRECT_DNS: "false", ISTIO_META_DNS_CAPTURE: "true" }).config.redirectDns,
    ).toBe(false);
  });

  it("makes host detection explicit: --enable-ipv6 and --dns-servers split by family", () => {
    const { config } = parseIstioIptablesArgs(["--enable-ipv6", "--dns-servers", "10.96.0.10,FD00::A, 8.8.8.8"]);
    expect(config).toEqual({ enableIpv6: true, dnsServersV4: ["10.96.0.10", "8.8.8.8"], dnsServersV6: ["fd00::a"] });
    const out = iptablesCapture({ ...config, redirectDns: true }).v6 ?? "";
    expect(out).toContain("-A ISTIO_OUTPUT_DNS -p udp --dport 53 -d fd00::a/128 -j REDIRECT --to-port 15053");
  });

  it("accepts operational flags without changing the rules, and --native-nftables", () => {
    const a = parseIstioIptablesArgs([
      "-n",
      "--run-validation",
      "--probe-timeout",
      "5s",
      "--native-nftables",
      "-b",
      "*",
    ]);
    expect(a.config).toEqual({ inboundPortsInclude: "*" });
    expect(a.nativeNftables).toBe(true);
    expect(a.rest).toEqual([]);
  });

  it("refuses what it cannot honour, naming the flag", () => {
    expect(() => parseIstioIptablesArgs(["--cleanup-only"])).toThrow(/--cleanup-only: not supported/);
    expect(() => parseIstioIptablesArgs(["-b"])).toThrow(/--istio-inbound-ports: needs a value/);
    expect(() => parseIstioIptablesArgs(["--redirect-dns=maybe"])).toThrow(/not a boolean/);
    expect(() => parseIstioIptablesArgs(["--dns-servers", "10.0.0.300"])).toThrow(MeshError);
  });
});

describe("configuration errors name the setting and the fix", () => {
  const cases: [string, Parameters<typeof iptablesCapture>[0], RegExp][] = [
    ["bad port", { proxyPort: "15o01" }, /^proxyPort: "15o01" is not a port/],
    ["port out of range", { inboundPortsInclude: "80,70000" }, /^inboundPortsInclude: "70000"/],
    ["star inside a list", { inboundPortsInclude: "80,*" }, /must be the whole value/],
    ["mode", { inboundInterceptionMode: "tproxy" }, /^inboundInterceptionMode: .*use REDIRECT or TPROXY/],
    ["cidr", { outboundIpRangesInclude: "10.0.0.0/33" }, /^outboundIpRangesInclude: "10.0.0.0\/33" is not a CIDR/],
    ["exclude all", { outboundIpRangesExclude: "*" }, /^outboundIpRangesExclude:/],
    ["loopback cidr", { hostIpv4LoopbackCidr: "10.0.0.1/32" }, /expected an IPv4 loopback address/],
    ["loopback mask", { hostIpv4LoopbackCidr: "127.0.0.0/4" }, /mask in range \[8, 32\]/],
    ["interface", { excludeInterfaces: "eth0,a-very-long-interface" }, /^excludeInterfaces: .*at most 15/],
    ["dns family", { dnsServersV4: ["fd00::1"] }, /list it under dnsServersV6/],
    ["groups", { ownerGroupsInclude: Array.from({ length: 65 }, (_, i) => `${i}`).join(",") }, /cannot exceed 64/],
  ];
  it.each(cases)("%s", (_n, cfg, re) => {
    expect(() => iptablesCapture(cfg)).toThrow(re);
    expect(() => nftablesCapture(cfg)).toThrow(re);
  });

  it("keeps upstream's reading of lists: empty items dropped, CIDR addresses kept as written", () => {
    const r = iptablesCapture({ outboundIpRangesInclude: "10.1.2.3/8,,FD00::1/8", enableIpv6: true });
    expect(r.v4).toContain("-A ISTIO_OUTPUT -d 10.1.2.3/8 -j ISTIO_REDIRECT");
    expect(r.v6).toContain("-A ISTIO_OUTPUT -d fd00::1/8 -j ISTIO_REDIRECT");
  });

  it("defaults the proxy GID to the UID, as upstream fills it", () => {
    expect(iptablesCapture({ proxyUid: "42" }).v4).toContain("-A ISTIO_OUTPUT -m owner --gid-owner 42 -j RETURN");
  });

  it("turns DNS capture off when no server is known and not all DNS is captured (upstream's warning case)", () => {
    expect(iptablesCapture({ redirectDns: true }).v4).not.toContain("ISTIO_OUTPUT_DNS");
    expect(iptablesCapture({ redirectDns: true, captureAllDns: true }).v4).toContain(
      "-A ISTIO_OUTPUT_DNS -p tcp --dport 53 -j REDIRECT --to-ports 15053",
    );
  });
});
