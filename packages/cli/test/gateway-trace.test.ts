/**
 * Issue point 10: `curl http://shop.example.com/api` from a host outside the
 * cluster, through a Gateway on a node, the HTTPRoute, the Service and the
 * node's proxy mode, to a pod of the demo cluster.
 */
import { readFileSync } from "node:fs";
import { main, registerBundledModes } from "@knet/cli";
import { Cluster, formatClusterTrace, traceRequest } from "@knet/cluster";
import { gatewayClusterExtension, loadGatewayInputs } from "@knet/gateway";
import { describe, expect, it } from "vitest";
import { capture } from "./capture.js";

const DEMO = new URL("../../../examples/manifests/demo-cluster.yaml", import.meta.url).pathname;
const manifests = readFileSync(DEMO, "utf8");
const EDGE = new URL("../../../examples/manifests/demo-gateway.yaml", import.meta.url).pathname;
const GATEWAY = readFileSync(EDGE, "utf8");

describe("a Gateway on a node of the simulated cluster", () => {
  it("traces curl http://shop.example.com/api from outside through the Gateway, the route, the Service and the proxy mode to a pod (and into NetworkPolicy)", async () => {
    registerBundledModes();
    const { inputs } = loadGatewayInputs([{ name: "edge.yaml", text: GATEWAY }]);
    const cluster = await Cluster.fromManifests(manifests, { extensions: [gatewayClusterExtension(inputs)] });
    // curl http://shop.example.com/ : Gateway -> HTTPRoute rule 1 -> Service shop/web -> iptables DNAT -> a frontend pod.
    const t = traceRequest(cluster, { from: "client", to: "http://shop.example.com/", http: { path: "/" } });
    expect(t.connected).toBe(true);
    expect(t.proxied?.decision).toMatchObject({
      kind: "forward",
      note: expect.stringMatching(/^HTTPRoute shop\/shop rule 1 -> Service shop\/web:80/),
    });
    const up = t.proxied?.upstream;
    expect(up?.connected, formatClusterTrace(t)).toBe(true);
    expect(up?.backend?.pod).toMatch(/^shop\/frontend-/);
    expect(up?.http?.headers["x-via"]).toBe("edge");
    expect(up?.proxy.length).toBeGreaterThan(0); // the node's proxy mode DNATed the ClusterIP
    expect(formatClusterTrace(t)).toContain("User-space proxy gateway on node-a:80");
    // The gateway connects from node-a itself: its OUTPUT path is where the proxy mode translates.
    expect(up?.client).toMatchObject({ pod: "node-a", node: "node-a" });
    expect(up?.proxy[0]?.hook).toBe("output");
    // curl http://shop.example.com/api : routed to Service shop/api, DNATed to an api pod, and dropped
    // there by the demo's NetworkPolicy (only the frontend may call the api).
    const api = traceRequest(cluster, {
      from: "client",
      to: "http://shop.example.com/api/items",
      http: { path: "/api/items" },
    });
    expect(api.proxied?.decision).toMatchObject({
      kind: "forward",
      note: expect.stringMatching(/^HTTPRoute shop\/shop rule 0 -> Service shop\/api:80/),
    });
    expect(api.proxied?.upstream?.connected).toBe(false);
    expect(formatClusterTrace(api)).toMatch(/denied by NetworkPolicy/);
    const moved = traceRequest(cluster, {
      from: "client",
      to: "http://shop.example.com/old/x",
      http: { path: "/old/x" },
    });
    expect(moved.proxied?.decision).toMatchObject({ kind: "respond", status: 301 });
  });
});

describe("knet trace with Gateway API objects in the manifests", () => {
  const trace = async (...args: string[]) => {
    const c = capture();
    const code = await main(["trace", "-f", DEMO, "-f", EDGE, ...args], c.io);
    return { code, out: c.out(), err: c.err() };
  };

  it.each([
    // [URL, exit status, the route's rule and Service, what the last leg says]
    ["http://shop.example.com/", 0, "HTTPRoute shop/shop rule 1 -> Service shop/web:80", /reached shop\/frontend-/],
    // The URL's path is the request's path: /api/items matches the PathPrefix /api rule, and the
    // demo's NetworkPolicy then drops the gateway's connection at the api pod: the request fails.
    [
      "http://shop.example.com/api/items",
      1,
      "HTTPRoute shop/shop rule 0 -> Service shop/api:80",
      /denied by NetworkPolicy/,
    ],
    // The gateway answers a redirect itself: the request got its answer.
    [
      "http://shop.example.com/old/x?q=1",
      0,
      "HTTPRoute shop/shop rule 2: redirect to http://shop.example.com/new/x?q=1",
      /answers 301/,
    ],
  ] as const)("curl %s from outside the cluster: exit %i through %s", async (url, status, via, last) => {
    const t = await trace("--from", "client", "--to", url);
    expect(t.err).toBe("");
    expect(t.code, t.out).toBe(status);
    expect(t.out).toContain(via);
    expect(t.out.trim().split("\n").at(-1)).toMatch(last);
  });

  it("carries the URL's path into the JSON trace, and names the hosts outside the cluster for an unknown --from", async () => {
    const t = await trace("--from", "client", "--to", "http://shop.example.com/api/items?page=2", "-o", "json");
    const parsed = JSON.parse(t.out) as { http: { path: string }; proxied: { upstream: { http: { path: string } } } };
    expect(parsed.http.path).toBe("/api/items?page=2");
    expect(parsed.proxied.upstream.http.path).toBe("/api/items?page=2");
    const bad = await trace("--from", "nobody", "--to", "http://shop.example.com/");
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/no pod "nobody" .*nor a host outside the cluster \(hosts: client\)/);
  });
});
