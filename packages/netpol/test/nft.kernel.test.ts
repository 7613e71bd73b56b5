import { compileNft, defaultProfile, PolicyEngine, reachability, serviceVerdicts, strictProfile } from "@knet/netpol";
import { describeKernel } from "@knet/testkit";
import fc from "fast-check";
import { afterAll, beforeAll, expect, it } from "vitest";
import { stateArb } from "./arbitraries.js";
import { CASES, MODEL, PODS, stateOf } from "./e2e-cases.js";
import { FEATURES, v6pod } from "./features.js";
import { Lab } from "./kernel/lab.js";

const show = (m: boolean[][]): string =>
  m.map((r, i) => `${PODS[i]} ${r.map((v) => (v ? "." : "X")).join("")}`).join("\n");

describeKernel("compiled nftables enforced by the kernel == evaluator", { commands: ["ip", "nft"] }, () => {
  let lab: Lab | undefined;
  beforeAll(async () => {
    lab = await Lab.create(MODEL.pods, [80, 81]);
  });
  afterAll(() => {
    lab?.destroy();
  });

  it("without policies every pair connects (harness sanity)", async () => {
    const l = lab as Lab;
    l.load(compileNft(new PolicyEngine({ namespaces: MODEL.namespaces, pods: MODEL.pods })).text);
    for (const port of [
      { port: 80, protocol: "TCP" as const },
      { port: 81, protocol: "UDP" as const },
    ]) {
      const m = await l.matrix(port);
      expect(m.flat().every(Boolean)).toBe(true);
    }
  });

  // SCTP steps are left out: this kernel's sctp module is not assumed (see README).
  const steps = CASES.flatMap((c) => c.steps.filter((s) => s.port.protocol !== "SCTP").map((s, n) => ({ c, s, n })));
  it(`upstream e2e cases: ${steps.length} steps, kernel matrix == evaluator matrix == expected`, async () => {
    const l = lab as Lab;
    const failures: string[] = [];
    for (const { c, s, n } of steps) {
      const engine = new PolicyEngine({ ...stateOf(s), networkPolicies: s.policies });
      const nft = compileNft(engine);
      l.load(nft.text);
      const kernel = await l.matrix(s.port);
      const evaluated = reachability(engine, { ports: [s.port], pods: PODS }).allowed[
        `${s.port.port}/${s.port.protocol}`
      ] as boolean[][];
      if (show(kernel) !== show(evaluated) || show(kernel) !== show(s.expected)) {
        failures.push(
          `#${c.id} step ${n} ${s.port.port}/${s.port.protocol}\nkernel:\n${show(kernel)}\nevaluator:\n${show(evaluated)}\nexpected:\n${show(s.expected)}\n${l.ruleset(nft.table)}`,
        );
      }
    }
    expect(failures.join("\n\n")).toBe("");
  });

  it("nft accepts every construct the compiler emits (IPv6, SCTP, concatenations, ranges, ANP goto, profiles)", () => {
    const l = lab as Lab;
    for (const profile of [
      defaultProfile,
      strictProfile,
      { ...defaultProfile, name: "x", ipBlockMatchesPodIPs: { ingress: false, egress: false } },
    ]) {
      const nft = compileNft(
        new PolicyEngine({ namespaces: MODEL.namespaces, pods: [...MODEL.pods, v6pod], ...FEATURES }, { profile }),
      );
      const r = l.router.run("nft", ["-c", "-f", "-"], nft.text);
      expect(r.stderr, profile.name).toBe("");
      expect(r.code).toBe(0);
    }
  });

  it("counters and comments attribute each verdict to policy, rule and peer", async () => {
    const l = lab as Lab;
    const step = CASES.find((c) => c.id === 3)?.steps[0];
    if (step === undefined) throw new Error("case 3 missing");
    const nft = compileNft(new PolicyEngine({ ...stateOf(step), networkPolicies: step.policies }));
    l.load(nft.text);
    await l.matrix(step.port);
    const listing = l.ruleset(nft.table);
    const packets = (needle: string): number => {
      const line = listing.split("\n").find((x) => x.includes(needle));
      const m = line === undefined ? null : /counter packets ([0-9]+)/.exec(line);
      if (m === null) throw new Error(`no counter for ${needle} in\n${listing}`);
      return Number(m[1]);
    };
    // x/b -> x/a: one SYN admitted by the rule; 7 other clients dropped by x/a's isolation.
    expect(packets('comment "np x/x-a-allows-x-b ingress rule 0 peer 0"')).toBe(1);
    expect(packets("x/a isolated for ingress by x/x-a-allows-x-b")).toBeGreaterThanOrEqual(7);
  });

  it("Service traffic is policed after DNAT: ClusterIP:8080 -> x/a:80 follows x/a's policy on port 80", async () => {
    const l = lab as Lab;
    const step = CASES.find((c) => c.id === 3)?.steps[0];
    if (step === undefined) throw new Error("case 3 missing");
    const engine = new PolicyEngine({ ...stateOf(step), networkPolicies: step.policies });
    l.load(compileNft(engine).text);
    // kube-proxy's part, reduced to one DNAT rule in the router (the node).
    l.router.must(
      "nft",
      ["-f", "-"],
      "table ip knet_svc {\n\tchain prerouting {\n\t\ttype nat hook prerouting priority dstnat; policy accept;\n\t\tip daddr 10.96.0.10 tcp dport 8080 dnat to 10.77.1.2:80\n\t}\n}\n",
    );
    try {
      const svc = {
        metadata: { namespace: "x", name: "s-x-a" },
        spec: { selector: { pod: "a" }, ports: [{ port: 8080, targetPort: 80 }] },
      };
      // x/a itself is left out: hairpin through a Service is the undefined loopback case.
      const clients = PODS.filter((k) => k !== "x/a");
      const kernel = await Promise.all(clients.map((c) => l.probe(c, [["10.96.0.10", 8080, "TCP"]])));
      const evaluated = clients.map((c) => serviceVerdicts(engine, c, svc, 8080).map((v) => v.verdict.allowed));
      expect(kernel.map((r) => r[0] === "ok")).toEqual(evaluated.map((v) => v[0]));
      expect(evaluated.flat().filter(Boolean)).toHaveLength(1); // only x/b
    } finally {
      l.router.run("nft", ["delete", "table", "ip", "knet_svc"]);
    }
  });

  const RANDOM = 24;
  it(`random NetworkPolicies + ANP/BANP (${RANDOM} states x 80/TCP, 81/UDP): kernel matrix == evaluator matrix`, async () => {
    const l = lab as Lab;
    const states = fc.sample(stateArb(true), { numRuns: RANDOM, seed: 4242 });
    const failures: string[] = [];
    let denied = 0;
    for (const [n, state] of states.entries()) {
      const engine = new PolicyEngine(state);
      const nft = compileNft(engine);
      l.load(nft.text);
      for (const port of [
        { port: 80, protocol: "TCP" as const },
        { port: 81, protocol: "UDP" as const },
      ]) {
        const kernel = await l.matrix(port);
        const evaluated = reachability(engine, { ports: [port], pods: PODS }).allowed[
          `${port.port}/${port.protocol}`
        ] as boolean[][];
        denied += evaluated.flat().filter((v) => !v).length;
        if (show(kernel) !== show(evaluated)) {
          failures.push(
            `state ${n} ${port.port}/${port.protocol}\nkernel:\n${show(kernel)}\nevaluator:\n${show(evaluated)}\n${JSON.stringify(state.networkPolicies)}\n${JSON.stringify(state.adminNetworkPolicies)}\n${JSON.stringify(state.baselineAdminNetworkPolicy)}\n${l.ruleset(nft.table)}`,
          );
        }
      }
    }
    expect(failures.join("\n\n")).toBe("");
    // The random states must exercise denials, or the comparison proves little.
    expect(denied).toBeGreaterThan(100);
  });
});
