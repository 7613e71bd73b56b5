import { iptablesCapture, nftablesCapture, parseIstioIptablesArgs } from "@knet/mesh";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { configArb } from "./config-arb.js";

/** Check a restore input as iptables-restore would: declared chains, jumps to declared or built-in chains. */
function restoreProblems(text: string): string[] {
  const problems: string[] = [];
  const builtin = new Set(["INPUT", "OUTPUT", "FORWARD", "PREROUTING", "POSTROUTING"]);
  const targets = new Set(["ACCEPT", "RETURN", "DROP", "REDIRECT", "TPROXY", "MARK", "CONNMARK", "CT"]);
  for (const block of text.split("COMMIT\n").filter((b) => b !== "")) {
    const lines = block.split("\n").filter((l) => l !== "");
    const table = lines[0];
    if (!table?.startsWith("* ")) problems.push(`block without a table: ${lines[0]}`);
    const declared = new Set<string>();
    for (const l of lines.slice(1)) {
      const w = l.split(" ");
      if (w[0] === "-N") {
        if (declared.has(w[1] as string)) problems.push(`${table}: ${w[1]} declared twice`);
        declared.add(w[1] as string);
        continue;
      }
      const chain = w[1] as string;
      if (!builtin.has(chain) && !declared.has(chain)) problems.push(`${table}: rule in undeclared ${chain}: ${l}`);
      const j = w.indexOf("-j");
      const target = w[j + 1] as string;
      if (!targets.has(target) && !declared.has(target)) problems.push(`${table}: jump to undeclared ${target}`);
    }
  }
  return problems;
}

/** Check an nft transaction: rules only in declared chains, jumps to declared chains, inserts at existing positions. */
function nftProblems(text: string): string[] {
  const problems: string[] = [];
  const chains = new Set<string>();
  const count = new Map<string, number>();
  for (const l of text.split("\n").filter((x) => x !== "")) {
    const w = l.split(" ");
    const key = `${w[3]} ${w[4]}`;
    if (w[0] === "add" && w[1] === "chain") chains.add(key);
    if (w[1] !== "rule") continue;
    if (!chains.has(key)) problems.push(`rule in undeclared chain ${key}`);
    const jump = w.indexOf("jump");
    if (jump >= 0 && !chains.has(`${w[3]} ${w[jump + 1]}`)) problems.push(`jump to undeclared ${w[jump + 1]}`);
    if (w[0] === "insert") {
      const index = Number(w[6]);
      if (!(index < (count.get(key) ?? 0)))
        problems.push(`insert at ${index} into ${key} holding ${count.get(key) ?? 0}`);
    }
    count.set(key, (count.get(key) ?? 0) + 1);
  }
  return problems;
}

describe("generator invariants over random configurations", () => {
  it("restore inputs declare every chain they use, and nft inserts only where rules exist", () => {
    fc.assert(
      fc.property(configArb, (cfg) => {
        const r = iptablesCapture(cfg);
        expect(restoreProblems(r.v4)).toEqual([]);
        expect(restoreProblems(r.v6 ?? "")).toEqual([]);
        expect(r.v6 === undefined).toBe(cfg.enableIpv6 !== true);
        // Upstream's one unloadable case (IPv6 DNS servers only, IPv6 off) is an error here.
        const dangling =
          cfg.redirectDns === true &&
          cfg.captureAllDns !== true &&
          (cfg.dnsServersV4 ?? []).length === 0 &&
          (cfg.dnsServersV6 ?? []).length > 0 &&
          cfg.enableIpv6 !== true;
        if (dangling) expect(() => nftablesCapture(cfg)).toThrow(/dnsServersV6: .*nft refuses/);
        else expect(nftProblems(nftablesCapture(cfg).script)).toEqual([]);
      }),
      { numRuns: 300 },
    );
  });

  it("the proxy's own traffic is never redirected: every owner RETURN for each proxy UID/GID comes before any REDIRECT jump in ISTIO_OUTPUT", () => {
    fc.assert(
      fc.property(configArb, (cfg) => {
        const out = iptablesCapture(cfg)
          .v4.split("\n")
          .filter((l) => l.startsWith("-A ISTIO_OUTPUT "));
        const firstRedirect = out.findIndex((l) => l.endsWith("-j ISTIO_REDIRECT"));
        for (const id of (cfg.proxyUid ?? "1337").split(",")) {
          const ret = out.indexOf(`-A ISTIO_OUTPUT -m owner --uid-owner ${id} -j RETURN`);
          expect(ret).toBeGreaterThanOrEqual(0);
          if (firstRedirect >= 0) expect(ret).toBeLessThan(firstRedirect);
        }
      }),
      { numRuns: 200 },
    );
  });

  it("flags round-trip: a configuration written as istio-iptables flags reads back as itself", () => {
    fc.assert(
      fc.property(configArb, (cfg) => {
        const args: string[] = [];
        const pairs: [string, string | undefined][] = [
          ["-u", cfg.proxyUid],
          ["-g", cfg.proxyGid],
          ["-m", cfg.inboundInterceptionMode],
          ["-b", cfg.inboundPortsInclude],
          ["-d", cfg.inboundPortsExclude],
          ["-q", cfg.outboundPortsInclude],
          ["-o", cfg.outboundPortsExclude],
          ["-i", cfg.outboundIpRangesInclude],
          ["-x", cfg.outboundIpRangesExclude],
          ["-k", cfg.kubeVirtInterfaces],
          ["-c", cfg.excludeInterfaces],
        ];
        for (const [f, v] of pairs) if (v !== undefined) args.push(f, v);
        for (const [f, v] of [
          ["--redirect-dns", cfg.redirectDns],
          ["--capture-all-dns", cfg.captureAllDns],
          ["--drop-invalid", cfg.dropInvalid],
          ["--enable-ipv6", cfg.enableIpv6],
        ] as const) {
          if (v !== undefined) args.push(`${f}=${v}`);
        }
        const env: Record<string, string> = {};
        if (cfg.ownerGroupsInclude !== undefined) env.ISTIO_OUTBOUND_OWNER_GROUPS = cfg.ownerGroupsInclude;
        if (cfg.ownerGroupsExclude !== undefined) env.ISTIO_OUTBOUND_OWNER_GROUPS_EXCLUDE = cfg.ownerGroupsExclude;
        const dns = [...(cfg.dnsServersV4 ?? []), ...(cfg.dnsServersV6 ?? [])];
        if (cfg.dnsServersV4 !== undefined || cfg.dnsServersV6 !== undefined) args.push("--dns-servers", dns.join(","));
        const parsed = parseIstioIptablesArgs(args, env).config;
        const want = { ...cfg };
        if (cfg.dnsServersV4 !== undefined || cfg.dnsServersV6 !== undefined) {
          want.dnsServersV4 = cfg.dnsServersV4 ?? [];
          want.dnsServersV6 = (cfg.dnsServersV6 ?? []).map((s) => (s === "::127.0.0.53" ? "::7f00:35" : s));
        }
        expect(parsed).toEqual(want);
        expect(iptablesCapture(parsed).dryRun).toBe(iptablesCapture(want).dryRun);
      }),
      { numRuns: 200 },
    );
  });
});
