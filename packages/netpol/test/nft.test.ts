import { compileNft, defaultProfile, e2eModel, PolicyEngine, type Profile } from "@knet/netpol";
import { describe, expect, it } from "vitest";
import { FEATURES, v6pod } from "./features.js";

const M = e2eModel();
function compile(profile: Profile = defaultProfile) {
  return compileNft(new PolicyEngine({ namespaces: M.namespaces, pods: [...M.pods, v6pod], ...FEATURES }, { profile }));
}

describe("compileNft", () => {
  const text = compile().text;
  const lines = text.split("\n").map((l) => l.trim());

  it("replaces one inet table atomically and hooks forward twice (egress before ingress)", () => {
    expect(lines.slice(0, 3)).toEqual([
      "table inet knet_netpol",
      "delete table inet knet_netpol",
      "table inet knet_netpol {",
    ]);
    expect(lines).toContain("type filter hook forward priority -1; policy accept;");
    expect(lines).toContain("type filter hook forward priority 0; policy accept;");
    expect(lines.filter((l) => l.startsWith("ct state established,related counter accept"))).toHaveLength(2);
  });

  it("maps only policy subjects, per direction and family", () => {
    const ing4 = lines[lines.indexOf("map ingress_pods4 {") + 1] as string;
    for (const ip of ["10.77.1.2", "10.77.2.2", "10.77.3.2", "10.77.11.2"]) expect(ing4).toContain(`${ip} : jump`);
    expect(ing4).not.toContain("10.77.21.2"); // z pods are subject to nothing
    expect(lines[lines.indexOf("map ingress_pods6 {") + 1]).toContain("fd00::6 : jump ingress_");
  });

  it("ipBlock except is subtracted offline, ranges and named ports are concrete", () => {
    expect(text).toContain(
      "ip saddr { 10.77.0.0/24, 10.77.2.0/23, 10.77.4.0/22, 10.77.8.0/21, 10.77.16.0/20, 10.77.32.0/19, 10.77.64.0/18, 10.77.128.0/17 } udp dport 80-90 counter accept",
    );
    expect(text).toContain(
      "ip saddr 10.77.2.2 ip daddr . tcp dport { 10.77.1.2 . 81, 10.77.2.2 . 81, 10.77.3.2 . 81 } counter accept",
    );
    expect(text).toContain("ip saddr 10.77.2.2 meta l4proto sctp counter accept");
    expect(text).toContain("ip6 saddr fd00::/64 counter accept");
    expect(text).toContain("ip daddr . tcp dport { 10.77.11.2 . 80, 10.77.12.2 . 80, 10.77.13.2 . 80 } counter accept");
  });

  it("ANP Pass jumps to the NetworkPolicy part, Deny drops, comments name policy, rule and peer", () => {
    expect(text).toMatch(
      /ip saddr \{ 10\.77\.1\.2, 10\.77\.2\.2, 10\.77\.3\.2, fd00::6 \}|ip saddr \{ 10\.77\.1\.2, 10\.77\.2\.2, 10\.77\.3\.2 \} counter goto ingress_\d+_y_a_np/,
    );
    expect(text).toMatch(
      /counter goto ingress_\d+_y_a_np comment "anp pass-then-deny ingress rule 0 pass-x peer 0: Pass"/,
    );
    expect(text).toMatch(
      /tcp dport 80-81 counter drop comment "anp pass-then-deny ingress rule 1 deny-z peer 0 port 0: Deny"/,
    );
    expect(text).toContain('counter accept comment "y/a ingress: no policy decided, default allow"');
    expect(text).toContain('counter drop comment "x/a isolated for ingress by x/all-features: no rule matched"');
  });

  it("a profile that keeps ipBlock off pod IPs excludes them in the set match", () => {
    const t = compile({
      ...defaultProfile,
      name: "no-ipblock-pods",
      ipBlockMatchesPodIPs: { ingress: false, egress: true },
    }).text;
    expect(t).toContain("ip saddr != @pod_ips4 udp dport 80-90");
  });
});
