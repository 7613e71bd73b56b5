import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import { Router } from "../src/index.js";
import { CONFORMANCE_DIR, conformanceModel } from "./helpers.js";

interface Row {
  request: { host?: string; method?: string; path?: string; headers?: Record<string, string> };
  backend?: string;
  namespace?: string;
  status?: number;
  redirect?: { scheme?: string; host?: string; port?: string; path?: string };
  expected?: { host?: string; path?: string; headers?: Record<string, string>; absent?: string[] };
  responseHeaders?: Record<string, string>;
  responseAbsent?: string[];
}

const rows = JSON.parse(readFileSync(new URL("./fixtures/conformance-rows.json", import.meta.url), "utf8")) as Record<
  string,
  Row[] | string
>;

/** The Gateway the test's first HTTPRoute attaches to (the conformance test's gwAddr). */
function gatewayOf(test: string): { namespace: string; name: string } {
  const text = readFileSync(`${CONFORMANCE_DIR}/tests/${test}.yaml`, "utf8");
  for (const d of parseAllDocuments(text)) {
    const o = d.toJS() as {
      kind?: string;
      metadata?: { namespace?: string };
      spec?: { parentRefs?: { name: string; namespace?: string }[] };
    };
    const p = o?.kind === "HTTPRoute" ? o.spec?.parentRefs?.[0] : undefined;
    if (p !== undefined) return { namespace: p.namespace ?? o.metadata?.namespace ?? "default", name: p.name };
  }
  throw new Error(`${test}: no HTTPRoute`);
}

// The suite's echo pods are named echo-vN for the infra-backend-vN Services.
const serviceOf = (backend: string): string => backend.replace(/^echo-v/, "infra-backend-v");

describe("Gateway API conformance request rows", () => {
  for (const [test, list] of Object.entries(rows)) {
    if (typeof list === "string") continue;
    describe(test, () => {
      const model = conformanceModel(test);
      // hostname-intersection sends requests to two Gateways on port 80: pool them as one address.
      const router = new Router(model, test === "httproute-hostname-intersection" ? {} : { gateway: gatewayOf(test) });
      list.forEach((row, i) => {
        const req = row.request;
        it(`${i}: ${req.method ?? "GET"} ${req.host ?? "example.com"}${req.path ?? "/"} ${JSON.stringify(req.headers ?? {})}`, () => {
          const d = router.route({
            method: req.method ?? "GET",
            scheme: "http",
            host: req.host ?? "example.com",
            port: 80,
            path: req.path ?? "/",
            headers: req.headers ?? {},
          });
          const why = d.explanation.join("\n");
          if (row.redirect !== undefined) {
            expect(d.status, why).toBe(row.status ?? 302);
            const loc = new URL(d.location ?? "");
            const r = row.redirect;
            if (r.scheme !== undefined) expect(loc.protocol).toBe(`${r.scheme}:`);
            if (r.host !== undefined) expect(loc.hostname).toBe(r.host);
            expect(loc.port).toBe(r.port ?? "");
            if (r.path !== undefined) expect(loc.pathname).toBe(r.path);
            return;
          }
          if (row.backend === undefined || (row.status !== undefined && row.status !== 200)) {
            expect(d.status, why).toBe(row.status ?? 200);
            return;
          }
          expect(d.status, why).toBe(200);
          const valid = d.backends.filter((b) => b.valid && b.weight > 0);
          expect(
            valid.map((b) => `${b.namespace}/${b.name}`),
            why,
          ).toContain(`${row.namespace}/${serviceOf(row.backend)}`);
          if (row.expected !== undefined) {
            if (row.expected.path !== undefined) expect(d.request.path.split("?")[0]).toBe(row.expected.path);
            if (row.expected.host !== undefined) expect(d.request.host).toBe(row.expected.host);
            for (const [k, v] of Object.entries(row.expected.headers ?? {}))
              expect(d.request.headers[k.toLowerCase()], k).toBe(v);
            for (const k of row.expected.absent ?? []) expect(d.request.headers[k.toLowerCase()], k).toBeUndefined();
          }
        });
      });
    });
  }
});
