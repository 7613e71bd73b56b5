// The real kube-apiserver (1.20.2) as an oracle for @knet/k8s: the same objects are sent
// to the server and to knet's validation, and both must reject them at the same fields
// (the server's 422 `details.causes[].field`), or both accept them. Known differences of
// 1.20 from today's rules are listed where they matter (none of these cases hit one).
import { type ApiServer, startApiServer } from "@knet/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Namespace, Service } from "../src/index.js";
import { validateNamespace, validateService } from "../src/index.js";

let server: ApiServer;
beforeAll(async () => {
  server = await startApiServer();
  const ns = await server.api("POST", "/api/v1/namespaces", { metadata: { name: "oracle" } });
  expect(ns.status).toBe(201);
});
afterAll(async () => {
  await server?.stop();
});

interface Status {
  kind?: string;
  details?: { causes?: { field?: string; message?: string }[] };
  spec?: { clusterIP?: string; ports?: { nodePort?: number }[] };
}

/** The fields the server names in its 422, sorted; `[]` when it accepted the object. */
async function serverFields(path: string, obj: unknown): Promise<string[]> {
  const r = await server.api<Status>("POST", path, obj);
  if (r.status === 201) return [];
  expect(r.status, JSON.stringify(r.body)).toBe(422);
  return [...new Set((r.body.details?.causes ?? []).map((c) => c.field ?? ""))].sort();
}

const svc = (name: string, spec: Record<string, unknown>): Service =>
  ({ apiVersion: "v1", kind: "Service", metadata: { name, namespace: "oracle" }, spec }) as unknown as Service;

describe("the real API server and @knet/k8s reject Services at the same fields", () => {
  const cases: [string, Service][] = [
    ["valid ClusterIP", svc("web", { selector: { app: "web" }, ports: [{ port: 80 }] })],
    ["bad name", svc("Bad_Name", { ports: [{ port: 80 }] })],
    ["port out of range", svc("big", { ports: [{ port: 70000, targetPort: 80 }] })],
    [
      "duplicate port names",
      svc("dup", {
        ports: [
          { name: "a", port: 80 },
          { name: "a", port: 81 },
        ],
      }),
    ],
    ["unnamed ports among several", svc("unnamed", { ports: [{ port: 80 }, { port: 81 }] })],
    ["bad protocol", svc("proto", { ports: [{ port: 53, protocol: "ICMP" }] })],
  ];
  it.each(cases)("%s", async (_label, service) => {
    const real = await serverFields("/api/v1/namespaces/oracle/services", service);
    const ours = [...new Set(validateService(service).map((p) => p.field))].sort();
    expect(ours).toEqual(real);
  });
});

describe("the real API server and @knet/k8s agree on Namespaces", () => {
  it.each([["ok-name"], ["UPPER"], ["dots.not.allowed"]])("%s", async (name) => {
    const ns = { apiVersion: "v1", kind: "Namespace", metadata: { name } } as unknown as Namespace;
    const real = await serverFields("/api/v1/namespaces", ns);
    const ours = [...new Set(validateNamespace(ns).map((p) => p.field))].sort();
    expect(ours).toEqual(real);
  });
});

describe("allocation as the real API server does it", () => {
  it("a ClusterIP from the service range and a NodePort from 30000-32767", async () => {
    const r = await server.api<Status>(
      "POST",
      "/api/v1/namespaces/oracle/services",
      svc("np", { type: "NodePort", selector: { app: "np" }, ports: [{ port: 80 }] }),
    );
    expect(r.status).toBe(201);
    const ip = r.body.spec?.clusterIP ?? "";
    const [a, b] = ip.split(".").map(Number);
    // 10.96.0.0/12 spans 10.96.0.0 - 10.111.255.255
    expect(a).toBe(10);
    expect(b).toBeGreaterThanOrEqual(96);
    expect(b).toBeLessThanOrEqual(111);
    const nodePort = r.body.spec?.ports?.[0]?.nodePort ?? 0;
    expect(nodePort).toBeGreaterThanOrEqual(30000);
    expect(nodePort).toBeLessThanOrEqual(32767);
  });
});
