import { readFileSync } from "node:fs";
import {
  CLUSTER_STAGES,
  Cluster,
  type ClusterBuild,
  ClusterError,
  type ClusterStage,
  formatClusterTrace,
  traceRequest,
} from "@knet/cluster";
import "./modes.js";
import { HookPriority } from "@knet/netstack";
import { describe, expect, it } from "vitest";

const manifests = readFileSync(new URL("../../../examples/manifests/demo-cluster.yaml", import.meta.url), "utf8");
const FRONTEND = "shop/frontend-6d8f9c7b5-q2xkz";

describe("cluster stages and extensions", () => {
  it("runs the named stages in order, each followed by the extensions for it", async () => {
    const seen: string[] = [];
    const after = Object.fromEntries(
      CLUSTER_STAGES.map((s) => [s, (b: ClusterBuild) => void seen.push(`${s}:${b.done.join(",")}`)]),
    ) as Record<ClusterStage, (b: ClusterBuild) => void>;
    await Cluster.fromManifests(manifests, { extensions: [{ name: "spy", after }] });
    expect(CLUSTER_STAGES).toEqual(["nodes", "ipam", "pods", "overlay", "proxy", "dns", "policy"]);
    expect(seen).toEqual(CLUSTER_STAGES.map((s, i) => `${s}:${CLUSTER_STAGES.slice(0, i + 1).join(",")}`));
  });

  it("a host outside the cluster reaches a NodePort through a user-space proxy that carries the HTTP request", async () => {
    let nodeIp = "";
    const cluster = await Cluster.fromManifests(manifests, {
      extensions: [
        {
          name: "edge",
          after: {
            overlay: (b) => {
              nodeIp = [...b.nodes.values()][0]?.ip.toString() ?? "";
              b.addExternalHost("client", { hosts: { "shop.example": "192.168.49.250" } });
              b.addExternalHost("lb", { ip: "192.168.49.250" });
              b.addUserspaceProxy({
                name: "lb",
                netns: "lb",
                port: 80,
                forward: (r) =>
                  r.http?.headers.host === "shop.example"
                    ? { kind: "forward", to: `${nodeIp}:30080`, note: "host shop.example" }
                    : { kind: "respond", status: 404, note: "no route" },
              });
            },
          },
        },
      ],
    });
    const t = traceRequest(cluster, { from: "client", to: "http://shop.example/", http: { path: "/cart" } });
    expect(t.client).toEqual({ pod: "client", node: "external", ip: "192.168.49.200" });
    expect(t.connected).toBe(true);
    expect(t.http).toEqual({ method: "GET", path: "/cart", headers: { host: "shop.example" } });
    expect(t.proxied?.by).toBe("lb");
    const up = t.proxied?.upstream;
    expect(up?.connected).toBe(true);
    expect(up?.backend?.pod).toMatch(/^shop\/frontend-/); // the web Service selects the frontend pods
    expect(up?.proxy.length).toBeGreaterThan(0);
    expect(up?.http?.path).toBe("/cart");
    expect(formatClusterTrace(t)).toContain("User-space proxy lb");
    const miss = traceRequest(cluster, {
      from: "client",
      to: "http://192.168.49.250/",
      http: { headers: { host: "x" } },
    });
    expect(miss.proxied?.decision).toEqual({ kind: "respond", status: 404, note: "no route" });
    expect(miss.summary).toContain("answers 404");
    const unresolved = traceRequest(cluster, { from: "client", to: "http://web.shop.svc.cluster.local/" });
    expect(unresolved.summary).toContain("outside the cluster");
  });

  it("puts rules inside a pod's namespace (sidecar capture point)", async () => {
    const cluster = await Cluster.fromManifests(manifests, {
      extensions: [
        {
          name: "deny-egress",
          after: {
            pods: (b) =>
              b.podHooks(FRONTEND, [
                {
                  hook: "output",
                  priority: HookPriority.filter,
                  owner: "sidecar",
                  fn: () => ({ verdict: "drop", rule: "capture" }),
                },
              ]),
          },
        },
      ],
    });
    const t = traceRequest(cluster, { from: FRONTEND, to: "http://10.96.0.1:80" });
    expect(t.connected).toBe(false);
    expect(t.path?.outcome).toMatchObject({ kind: "dropped", reason: "hook-drop" });
  });

  it("names the extension and the stage when one fails, and refuses the dataplane before the overlay", async () => {
    await expect(
      Cluster.fromManifests(manifests, {
        extensions: [{ name: "early", after: { nodes: (b) => void b.dataplane() } }],
      }),
    ).rejects.toThrow(ClusterError);
    await expect(
      Cluster.fromManifests(manifests, {
        extensions: [
          {
            name: "broken",
            after: {
              dns: () => {
                throw new TypeError("boom");
              },
            },
          },
        ],
      }),
    ).rejects.toThrow(/extension broken after the dns stage: boom/);
  });
});
