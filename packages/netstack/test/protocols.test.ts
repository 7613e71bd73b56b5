import { IP_PROTOCOLS, ipProtocolName, ipProtocolNumber, protoNumber } from "@knet/netstack";
import { describe, expect, it } from "vitest";

describe("the protocol table", () => {
  it.each([
    ["tcp", 6],
    ["UDP", 17],
    ["sctp", 132],
    ["icmp", 1],
    ["ipv6-icmp", 58],
    ["icmpv6", 58],
    ["132", 132],
    ["0", 0],
  ])("%s is %i", (name, number) => {
    expect(ipProtocolNumber(name)).toBe(number);
  });

  it("refuses what is neither a name nor a number 0-255", () => {
    for (const bad of ["256", "tcpx", "", "-1", "1.5"]) expect(ipProtocolNumber(bad)).toBeUndefined();
  });

  it("round-trips every name and number, and agrees with the packet protocols", () => {
    for (const p of IP_PROTOCOLS) {
      expect(ipProtocolNumber(p.name)).toBe(p.number);
      expect(ipProtocolName(p.number)).toBe(p.name);
      for (const a of p.aliases) expect(ipProtocolNumber(a)).toBe(p.number);
    }
    expect(new Set(IP_PROTOCOLS.map((p) => p.number)).size).toBe(IP_PROTOCOLS.length);
    expect(protoNumber("sctp")).toBe(132);
    expect(protoNumber("icmp", 6)).toBe(58);
  });
});
