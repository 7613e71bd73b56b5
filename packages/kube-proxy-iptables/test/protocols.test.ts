import { IptablesEvaluator, parseIptablesSave } from "@knet/kube-proxy-iptables";
import { describe, expect, it } from "vitest";

// One rule per protocol, in order: the number of rules a walk visits tells which one matched.
const RULES = `*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:PROTO - [0:0]
-A FORWARD -j PROTO
-A PROTO -p tcp -j ACCEPT
-A PROTO -p udp -j ACCEPT
-A PROTO -p sctp -j DROP
-A PROTO -p icmp -j REJECT
-A PROTO -j RETURN
COMMIT
`;

const evaluator = () => new IptablesEvaluator(parseIptablesSave(RULES));
const packet = (protocol: string | number) =>
  ({ src: "10.0.0.1", dst: "10.0.0.2", protocol, dport: 80, origin: "remote" }) as const;

describe("every evaluator entry point reads the packet's protocol by one table", () => {
  const cases: [protocol: string | number, visited: number, verdict: "accept" | "drop" | "reject"][] = [
    ["tcp", 1, "accept"],
    ["udp", 2, "accept"],
    ["sctp", 3, "drop"],
    ["SCTP", 3, "drop"],
    [132, 3, "drop"],
    ["icmp", 4, "reject"],
    ["gre", 5, "accept"],
    [47, 5, "accept"],
  ];
  it.each(cases)("%s: walkChain visits %i rules; evaluate and runChain give %s", (protocol, visited, verdict) => {
    expect(evaluator().walkChain("filter", "PROTO", packet(protocol))).toBe(visited);
    expect(evaluator().evaluate(packet(protocol)).verdict).toBe(verdict);
    expect(evaluator().runChain("filter", "FORWARD", packet(protocol)).verdict).toBe(verdict);
  });

  it.each(["sctpp", "tcp6", "", "256"])("an unknown protocol %j is an error, not tcp", (protocol) => {
    expect(() => evaluator().walkChain("filter", "PROTO", packet(protocol))).toThrow(/unknown protocol/);
    expect(() => evaluator().evaluate(packet(protocol))).toThrow(/unknown protocol/);
    expect(() => evaluator().runChain("filter", "FORWARD", packet(protocol))).toThrow(/unknown protocol/);
  });
});
