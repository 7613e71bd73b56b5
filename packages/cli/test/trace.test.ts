import { main } from "@knet/cli";
import { describe, expect, it } from "vitest";
import { capture } from "./capture.js";

const DEMO = new URL("../../../examples/manifests/demo-cluster.yaml", import.meta.url).pathname;
const FRONTEND = "shop/frontend-6d8f9c7b5-q2xkz";

describe("knet trace", () => {
  it("prints the whole path of an allowed request and exits 0", async () => {
    const c = capture();
    const code = await main(
      ["trace", "-f", DEMO, "--from", FRONTEND, "--to", "http://api.shop.svc.cluster.local:80"],
      c.io,
    );
    expect(c.err()).toBe("");
    expect(code).toBe(0);
    const out = c.out();
    for (const part of [
      "== DNS",
      "ndots:5",
      "NOERROR",
      "== Packet path",
      "route",
      "bridge",
      "kube-proxy on node-a",
      "== NetworkPolicy",
      "connected:",
    ]) {
      expect(out).toContain(part);
    }
    // The ndots:5 search-list lookups are explained where they are printed.
    expect(out).toContain(
      '  why: "api.shop.svc.cluster.local" has 4 dots, fewer than ndots:5, so each search domain (shop.svc.cluster.local svc.cluster.local cluster.local) is tried first, then the name as written\n',
    );
    // The reply ends at the client's own connected socket, seen from the Service's address (un-DNAT).
    const reply = out.slice(out.indexOf("== Reply"), out.indexOf("== Result")).trimEnd().split("\n");
    expect(reply.at(-2)).toMatch(
      /^deliver +shop\.frontend-6d8f9c7b5-q2xkz\/eth0: client socket tcp\/(\d+) connected to 10\.96\.100\.10:80$/,
    );
    expect(reply.at(-1)).toMatch(
      /^=> delivered to shop\.frontend-6d8f9c7b5-q2xkz\/eth0 \(client socket tcp\/\d+ connected to 10\.96\.100\.10:80\)$/,
    );
    expect(out).not.toContain("no listening socket");
  });

  it("exits 1 for a denied request and prints JSON with --json", async () => {
    const c = capture();
    const code = await main(
      ["trace", "-f", DEMO, "--from", FRONTEND, "--to", "http://db.shop:5432", "--mode", "nftables", "--json"],
      c.io,
    );
    expect(code).toBe(1);
    const t = JSON.parse(c.out()) as { connected: boolean; summary: string; policy: { direction: string }[] };
    expect(t.connected).toBe(false);
    expect(t.summary).toContain("denied by NetworkPolicy");
    expect(t.policy.some((p) => p.direction === "ingress")).toBe(true);
  });

  it("names bad input and exits 2", async () => {
    const c = capture();
    expect(await main(["trace", "-f", DEMO, "--from", "shop/ghost", "--to", "http://api:80"], c.io)).toBe(2);
    expect(c.err()).toMatch(/^knet: trace: no pod "shop\/ghost"/);
    const d = capture();
    expect(await main(["trace", "-f", DEMO, "--from", FRONTEND, "--to", "http://api:80", "--mode", "bpf"], d.io)).toBe(
      2,
    );
    expect(d.err()).toContain("unknown --mode 'bpf'");
    const e = capture();
    expect(await main(["trace", "--from", FRONTEND, "--to", "x"], e.io)).toBe(2);
    expect(e.err()).toContain("no input");
  });
});

describe("knet demo", () => {
  it("traces the bundled cluster under every proxy mode, shows DNS answers and explains denials", async () => {
    const c = capture();
    expect(await main(["demo"], c.io)).toBe(0);
    const out = c.out();
    expect(out).toContain("traced under iptables, nftables, ipvs");
    expect(out).toMatch(/ipvs\s+-> shop\/api-/);
    expect(out).toMatch(/iptables\s+-> shop\/api-/);
    expect(out).toMatch(/nftables\s+-> shop\/api-/);
    expect(out).toContain("KUBE-SVC-");
    expect(out).toContain("service-");
    // Every mode shows what it programs for shop/api (ebpf from its map dump).
    for (const m of out.matchAll(/^Rules (\S+) mode programs on node-a for shop\/api \((\d+) lines\):$/gm))
      expect(Number(m[2]), m[1]).toBeGreaterThan(0);
    expect(out).toContain("SVC: ID=5 ADDR=10.96.100.10:80/TCP");
    expect(out).toContain("encap");
    expect(out).toMatch(/db-0\.db\.shop\.svc\.cluster\.local A\s+NOERROR/);
    expect(out).toMatch(/nope\.shop\.svc\.cluster\.local A\s+NXDOMAIN/);
    expect(out).toContain("DENIED");
    expect(out).toContain("shop/default-deny-ingress");
    // From outside through the Gateway of demo-gateway.yaml: routed by path, then the proxy mode picks the pod.
    expect(out).toMatch(
      /client -> shop\.example\.com:80 GET \/: connected\n +gateway on node-a:80 forwards to 10\.96\.100\.20:80 \(HTTPRoute shop\/shop rule 1 -> Service shop\/web:80/,
    );
    expect(out).toMatch(/node-a -> 10\.96\.100\.20:80 GET \/: reached shop\/frontend-/);
    expect(out).toContain("answers 301 (HTTPRoute shop/shop rule 2: redirect to http://shop.example.com/new/cart)");
  });
});
