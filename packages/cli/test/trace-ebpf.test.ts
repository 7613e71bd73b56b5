import { main } from "@knet/cli";
import { describe, expect, it } from "vitest";
import { capture } from "./capture.js";

const DEMO = new URL("../../../examples/manifests/demo-cluster.yaml", import.meta.url).pathname;
const FRONTEND = "shop/frontend-6d8f9c7b5-q2xkz";

/** The lines of one `== Title` section of a trace. */
function section(out: string, title: string): string[] {
  const from = out.indexOf(`== ${title}`);
  expect(from, title).toBeGreaterThanOrEqual(0);
  const end = out.indexOf("\n== ", from + 3);
  return out
    .slice(from, end < 0 ? undefined : end)
    .trimEnd()
    .split("\n");
}

describe("knet trace --mode ebpf: the service is translated at the pod's socket, as Cilium's socket LB does", () => {
  it("connect() is rewritten in the pod (no NAT on the node), and getpeername() shows the service on the reply", async () => {
    const c = capture();
    expect(await main(["trace", "-f", DEMO, "--from", FRONTEND, "--to", "http://api", "--mode", "ebpf"], c.io)).toBe(0);
    const out = c.out();
    const path = section(out, "Packet path");
    // The first step is the connect4 program in the client pod's namespace; the SYN already goes to the backend.
    expect(path[1]).toMatch(
      /^socket +shop\.frontend-6d8f9c7b5-q2xkz connect4 \[cgroup\/sock_lb \(ebpf\) cilium_lb4_services_v2 10\.96\.100\.10:80\] \{dst 10\.96\.100\.10:80 -> (10\.244\.\d+\.\d+):8080\}/,
    );
    const backend = /-> (10\.244\.\d+\.\d+):8080\}/.exec(path[1] ?? "")?.[1];
    expect(path[2]).toContain(`> ${backend}:8080 [S]`);
    expect(path.filter((l) => l.startsWith("nat "))).toEqual([]);
    // The map lookups of the connect-time decision.
    const lb = section(out, "kube-proxy on node-a (connect4)");
    expect(lb[0]).toContain("tcp connect() in shop.frontend-6d8f9c7b5-q2xkz to 10.96.100.10:80");
    expect(
      lb.some((l) => l.includes("[bpf] cilium_lb4_services_v2: cgroup/connect4: lookup 10.96.100.10:80/TCP slot 0")),
    ).toBe(true);
    expect(lb.some((l) => l.startsWith("  [bpf] cilium_lb4_backends_v3: lookup "))).toBe(true);
    expect(lb.at(-1)).toBe(`  => connect() goes to ${backend}:8080`);
    // The reply comes from the backend, un-NATed by nobody; the client's getpeername() shows the service.
    const reply = section(out, "Reply");
    expect(reply.filter((l) => l.startsWith("nat "))).toEqual([]);
    expect(reply.at(-2)).toMatch(
      new RegExp(
        `^socket +shop\\.frontend-6d8f9c7b5-q2xkz getpeername4 \\[cgroup/sock_lb \\(ebpf\\) cilium_lb4_reverse_sk\\] \\{src ${backend?.replaceAll(".", "\\.")}:8080 -> 10\\.96\\.100\\.10:80\\}`,
      ),
    );
    expect(out).toContain("connected: shop/frontend-6d8f9c7b5-q2xkz -> api:80 reached shop/api-");
  });

  it("DNS queries are translated at sendmsg() in the pod, and the per-packet modes still DNAT on the node", async () => {
    const e = capture();
    expect(await main(["trace", "-f", DEMO, "--from", FRONTEND, "--to", "http://api", "--mode", "ebpf"], e.io)).toBe(0);
    expect(e.out()).toMatch(
      /queries go to 10\.96\.0\.10:53\/udp \(dst 10\.96\.0\.10:53 -> 10\.244\.\d+\.\d+:53 by cgroup\/sock_lb \(ebpf\) at sendmsg4 in shop\.frontend-6d8f9c7b5-q2xkz\)/,
    );
    const i = capture();
    expect(
      await main(["trace", "-f", DEMO, "--from", FRONTEND, "--to", "http://api", "--mode", "iptables"], i.io),
    ).toBe(0);
    expect(section(i.out(), "Packet path").some((l) => /^nat +node-a prerouting/.test(l))).toBe(true);
    expect(i.out()).not.toContain("cgroup/sock_lb");
  });
});
