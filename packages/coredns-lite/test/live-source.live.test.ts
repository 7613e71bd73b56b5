// knet's DNS fed live from a real kube-apiserver (list+watch through @knet/k8s's
// ClusterSource), queried with the real `dig`: answers follow creates, updates and
// deletes within a second, and a watch broken by an apiserver restart recovers without
// losing an update made while the server was down... and back.
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { ClusterSource, ClusterState, loadKubeconfig } from "@knet/k8s";
import { type ApiServer, startApiServer } from "@knet/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DnsIndex, DnsServer, defaultCorefile, watchClusterState } from "../src/index.js";

const exec = promisify(execFile);
let server: ApiServer;
let source: ClusterSource;
let dns: DnsServer;
const timings: Record<string, number> = {};

async function dig(name: string, type = "A"): Promise<{ status: string; answers: string[] }> {
  const { port } = dns.address();
  const { stdout } = await exec("dig", ["@127.0.0.1", "-p", String(port), "+tries=1", "+time=2", name, type]);
  const status = /status: (\w+)/.exec(stdout)?.[1] ?? "?";
  const answers = stdout
    .split("\n\n")
    .find((s) => s.startsWith(";; ANSWER SECTION:"))
    ?.split("\n")
    .slice(1)
    .map((l) => l.split(/\s+/).pop() ?? "");
  return { status, answers: answers ?? [] };
}

/** Poll dig until `check` holds; returns the ms it took. Fails after `limitMs`. */
async function until(
  what: string,
  name: string,
  check: (r: { status: string; answers: string[] }) => boolean,
  limitMs: number,
) {
  const t0 = performance.now();
  for (;;) {
    const r = await dig(name);
    if (check(r)) {
      timings[what] = Math.round(performance.now() - t0);
      return timings[what];
    }
    if (performance.now() - t0 > limitMs)
      throw new Error(`${what}: after ${limitMs} ms dig still says ${JSON.stringify(r)}`);
    await new Promise((res) => setTimeout(res, 20));
  }
}

const svc = (name: string, clusterIP?: string) => ({
  apiVersion: "v1",
  kind: "Service",
  metadata: { name, namespace: "live" },
  spec: { ...(clusterIP ? { clusterIP } : {}), selector: { app: name }, ports: [{ port: 80 }] },
});

beforeAll(async () => {
  server = await startApiServer();
  expect((await server.api("POST", "/api/v1/namespaces", { metadata: { name: "live" } })).status).toBe(201);
  const state = new ClusterState({ applyDefaults: false, endpointSliceController: false });
  const index = new DnsIndex();
  watchClusterState(index, state);
  source = new ClusterSource(loadKubeconfig(server.kubeconfig), state, { backoff: { initialMs: 50, maxMs: 500 } });
  await source.start();
  dns = new DnsServer({ index, config: defaultCorefile(), listen: { host: "127.0.0.1", port: 0 } });
  await dns.start();
});

afterAll(async () => {
  await dns?.stop();
  source?.stop();
  await server?.stop();
  console.log(`live DNS: ms from the API call to the dig answer: ${JSON.stringify(timings)}`);
});

describe("knet dns follows a real API server", () => {
  it("answers for a Service created after the first sync, within a second", async () => {
    const r = await server.api<{ spec: { clusterIP: string } }>("POST", "/api/v1/namespaces/live/services", svc("web"));
    expect(r.status).toBe(201);
    const ip = r.body.spec.clusterIP;
    await until("create", "web.live.svc.cluster.local", (d) => d.answers.includes(ip), 1000);
  });

  it("an update (new ClusterIP after delete+create) and a delete show within a second", async () => {
    expect((await server.api("DELETE", "/api/v1/namespaces/live/services/web")).status).toBe(200);
    await until("delete", "web.live.svc.cluster.local", (d) => d.status === "NXDOMAIN", 1000);
    const r = await server.api<{ spec: { clusterIP: string } }>(
      "POST",
      "/api/v1/namespaces/live/services",
      svc("web", "10.96.7.7"),
    );
    expect(r.status).toBe(201);
    await until("recreate", "web.live.svc.cluster.local", (d) => d.answers.includes("10.96.7.7"), 1000);
  });

  it("a label change (MODIFIED) reaches the state without changing the answer", async () => {
    // Counted before the PATCH: its watch event may arrive before the PATCH's own reply is read.
    const before = source.stats.events;
    const r = await server.api(
      "PATCH",
      "/api/v1/namespaces/live/services/web",
      { metadata: { labels: { tier: "front" } } },
      "application/merge-patch+json",
    );
    expect(r.status).toBe(200);
    const t0 = performance.now();
    while (source.stats.events === before && performance.now() - t0 < 1000)
      await new Promise((res) => setTimeout(res, 10));
    expect(source.stats.events).toBeGreaterThan(before);
    expect((await dig("web.live.svc.cluster.local")).answers).toEqual(["10.96.7.7"]);
  });

  it("recovers from an apiserver restart without losing an update made around it", async () => {
    const watchesBefore = source.stats.watches;
    await server.restartApiServer();
    // Made right after the restart: the broken watch must resume (or relist) and see it.
    const r = await server.api("POST", "/api/v1/namespaces/live/services", svc("after-restart", "10.96.8.8"));
    expect(r.status).toBe(201);
    await until(
      "after restart",
      "after-restart.live.svc.cluster.local",
      (d) => d.answers.includes("10.96.8.8"),
      15_000,
    );
    expect(source.stats.watches).toBeGreaterThan(watchesBefore);
    // And the earlier service is still answered (nothing was dropped by a relist).
    expect((await dig("web.live.svc.cluster.local")).answers).toEqual(["10.96.7.7"]);
  });
});
