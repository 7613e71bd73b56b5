import { defaultNetworkPolicy, type NetworkPolicy } from "@knet/k8s";
import { diffReachability, type PolicyClusterState, PolicyEngine, type PortSpec, reachability } from "@knet/netpol";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { adminPolicyArb, networkPolicyArb, peerArb, portArb, stateArb } from "./arbitraries.js";

const PORTS: PortSpec[] = [
  { port: 80, protocol: "TCP" },
  { port: 81, protocol: "TCP" },
  { port: 80, protocol: "UDP" },
  { port: 81, protocol: "UDP" },
  { port: 80, protocol: "SCTP" },
];
const matrix = (s: PolicyClusterState) => reachability(new PolicyEngine(s), { ports: PORTS });
const RUNS = { numRuns: 60, seed: 20261124 };

describe("policy properties (random policies over the e2e model)", () => {
  it("adding an allow rule never removes connectivity (NetworkPolicy rule or ANP Allow rule)", () => {
    const newRule = fc.record(
      { peers: fc.array(peerArb, { maxLength: 2 }), ports: fc.array(portArb, { maxLength: 2 }) },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(stateArb(true), fc.nat(), fc.boolean(), newRule, (state, pick, egress, rule) => {
        const before = matrix(state);
        let after: PolicyClusterState;
        if (state.networkPolicies.length > 0 && pick % 3 !== 0) {
          const i = pick % state.networkPolicies.length;
          const p = state.networkPolicies[i] as NetworkPolicy;
          // Pin the effective policyTypes first: adding the first egress rule to a policy
          // without policyTypes would otherwise change its defaulting (and isolate).
          const types = defaultNetworkPolicy(p).spec?.policyTypes ?? [];
          const dir = egress && types.includes("Egress") ? "egress" : "ingress";
          if (!types.includes(dir === "egress" ? "Egress" : "Ingress")) return;
          const r = dir === "egress" ? { to: rule.peers, ports: rule.ports } : { from: rule.peers, ports: rule.ports };
          const spec = {
            ...p.spec,
            policyTypes: types,
            [dir]: [...((p.spec?.[dir] as object[] | undefined) ?? []), r],
          };
          const nps = state.networkPolicies.map((q, j) => (j === i ? { ...q, spec } : q)) as NetworkPolicy[];
          after = { ...state, networkPolicies: nps };
        } else {
          const anps = state.adminNetworkPolicies ?? [];
          if (anps.length === 0) return;
          const i = pick % anps.length;
          const a = anps[i] as (typeof anps)[number];
          const dir = egress ? "egress" : "ingress";
          const allow = {
            action: "Allow" as const,
            [egress ? "to" : "from"]: [{ namespaces: {} }],
            ...((rule.ports ?? []).length > 0 ? { ports: [{ portNumber: { protocol: "TCP", port: 80 } }] } : {}),
          };
          const spec = { ...a.spec, [dir]: [allow, ...(a.spec[dir] ?? [])] };
          after = { ...state, adminNetworkPolicies: anps.map((q, j) => (j === i ? { ...q, spec } : q)) as typeof anps };
        }
        const lost = diffReachability(before, matrix(after)).filter((d) => d.a === true && d.b === false);
        expect(lost).toEqual([]);
      }),
      RUNS,
    );
  });

  it("a policy that selects no pods changes nothing", () => {
    fc.assert(
      fc.property(stateArb(true), networkPolicyArb, adminPolicyArb("selects-nobody", 3), (state, np, anp) => {
        const before = matrix(state);
        const { ns, ...rest } = np;
        const idle: NetworkPolicy = {
          metadata: { namespace: ns, name: "selects-nobody" },
          spec: { ...rest.spec, podSelector: { matchLabels: { "no-such-label": "x" } } },
        };
        const idleAnp = {
          ...anp,
          spec: { ...anp.spec, subject: { namespaces: { matchLabels: { "no-such-label": "x" } } } },
        };
        const after = {
          ...state,
          networkPolicies: [...state.networkPolicies, idle],
          adminNetworkPolicies: [...(state.adminNetworkPolicies ?? []).filter((a) => a.spec.priority !== 3), idleAnp],
        };
        const withoutPrio3 = {
          ...state,
          adminNetworkPolicies: (state.adminNetworkPolicies ?? []).filter((a) => a.spec.priority !== 3),
        };
        expect(diffReachability(matrix(withoutPrio3), matrix(after))).toEqual([]);
        expect(before.pods.length).toBe(9);
      }),
      RUNS,
    );
  });

  it("verdicts do not depend on the order of policies", () => {
    fc.assert(
      fc.property(
        stateArb(true).chain((s) =>
          fc.tuple(
            fc.constant(s),
            fc.shuffledSubarray(s.networkPolicies, { minLength: s.networkPolicies.length }),
            fc.shuffledSubarray([...(s.adminNetworkPolicies ?? [])], {
              minLength: (s.adminNetworkPolicies ?? []).length,
            }),
          ),
        ),
        ([state, nps, anps]) => {
          expect(
            diffReachability(matrix(state), matrix({ ...state, networkPolicies: nps, adminNetworkPolicies: anps })),
          ).toEqual([]);
        },
      ),
      RUNS,
    );
  });

  it("the explained verdict agrees with the fast path, and a denial names a deciding tier", () => {
    fc.assert(
      fc.property(stateArb(true), (state) => {
        const engine = new PolicyEngine(state);
        for (const from of engine.podKeys()) {
          for (const to of engine.podKeys()) {
            const flow = { from, to, protocol: "TCP" as const, port: 80 };
            const v = engine.verdict(flow);
            expect(v.allowed).toBe(engine.allows(flow));
            if (!v.allowed) {
              const d = v.egress.allowed ? v.ingress : v.egress;
              expect(["ANP", "NPv1", "BANP"]).toContain(d.decidedBy);
              if (d.decidedBy === "NPv1") expect(d.misses.length).toBeGreaterThan(0);
            }
          }
        }
      }),
      { numRuns: 30, seed: 7 },
    );
  });
});
