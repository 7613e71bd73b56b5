// Routing decision cost of @knet/gateway's Router at 10, 1k and 10k HTTPRoutes
// attached to one listener, and proxy throughput of GatewayServer against a
// direct connection to the same backend, in one run.
//   hosts:     every route has its own hostname (svc-i.example.com, 3 rules each):
//              a real gateway's per-host index keeps the decision near-constant.
//   one-host:  every route on the same hostname, distinct PathPrefix /svc-i:
//              candidates of one host are scanned in precedence order (grows with N).
// Run against the built packages: pnpm build; node benchmarks/run.mjs gateway
import { spawn } from "node:child_process";
import { Agent, request } from "node:http";
import { loadavg } from "node:os";
import { buildGatewayModel, Router } from "@knet/gateway";
import { bench, do_not_optimize, group, runBench, writeResults } from "../../../benchmarks/lib.mjs";

const CLASS = {
  kind: "GatewayClass",
  apiVersion: "gateway.networking.k8s.io/v1",
  metadata: { name: "knet" },
  spec: { controllerName: "knet.dev/gateway-controller" },
};
const GATEWAY = {
  kind: "Gateway",
  apiVersion: "gateway.networking.k8s.io/v1",
  metadata: { namespace: "bench", name: "gw" },
  spec: {
    gatewayClassName: "knet",
    listeners: [{ name: "http", port: 80, protocol: "HTTP", allowedRoutes: { namespaces: { from: "Same" } } }],
  },
};
const service = (name, port) => ({
  kind: "Service",
  apiVersion: "v1",
  metadata: { namespace: "bench", name },
  spec: { clusterIP: "10.96.0.10", ports: [{ port: 80, targetPort: port }] },
});
const slice = (name, ip, port) => ({
  kind: "EndpointSlice",
  apiVersion: "discovery.k8s.io/v1",
  metadata: { namespace: "bench", name: `${name}-1`, labels: { "kubernetes.io/service-name": name } },
  addressType: "IPv4",
  ports: [{ port }],
  endpoints: [{ addresses: [ip], conditions: { ready: true } }],
});

function routes(n, shape) {
  const out = [];
  for (let i = 0; i < n; i++) {
    const spec =
      shape === "hosts"
        ? {
            parentRefs: [{ name: "gw" }],
            hostnames: [`svc-${i}.example.com`],
            rules: [
              { matches: [{ path: { type: "Exact", value: "/healthz" } }], backendRefs: [{ name: "app", port: 80 }] },
              {
                matches: [{ path: { type: "PathPrefix", value: "/api" }, headers: [{ name: "x-canary", value: "1" }] }],
                backendRefs: [{ name: "app", port: 80 }],
              },
              { matches: [{ path: { type: "PathPrefix", value: "/api" } }], backendRefs: [{ name: "app", port: 80 }] },
            ],
          }
        : {
            parentRefs: [{ name: "gw" }],
            hostnames: ["shop.example.com"],
            rules: [
              {
                matches: [{ path: { type: "PathPrefix", value: `/svc-${i}` } }],
                backendRefs: [{ name: "app", port: 80 }],
              },
            ],
          };
    out.push({
      kind: "HTTPRoute",
      apiVersion: "gateway.networking.k8s.io/v1",
      metadata: { namespace: "bench", name: `r-${String(i).padStart(5, "0")}` },
      spec,
    });
  }
  return out;
}

const model = (httpRoutes, backendPort = 8080) =>
  buildGatewayModel({
    gatewayClasses: [CLASS],
    gateways: [GATEWAY],
    httpRoutes,
    services: [service("app", backendPort)],
    endpointSlices: [slice("app", "127.0.0.1", backendPort)],
  });

const SIZES = [10, 1000, 10000];
for (const shape of ["hosts", "one-host"]) {
  group(`route() ${shape}`, () => {
    for (const n of SIZES) {
      const router = new Router(model(routes(n, shape)));
      const i = Math.floor(n / 2);
      const req =
        shape === "hosts"
          ? {
              method: "GET",
              scheme: "http",
              host: `svc-${i}.example.com`,
              port: 80,
              path: "/api/items",
              headers: { accept: "*/*" },
            }
          : {
              method: "GET",
              scheme: "http",
              host: "shop.example.com",
              port: 80,
              path: `/svc-${i}/items`,
              headers: { accept: "*/*" },
            };
      const d = router.route(req, { explain: false });
      if (d.status !== 200) throw new Error(`${shape} ${n}: status ${d.status}`);
      bench(`${n} routes`, () => do_not_optimize(router.route(req, { explain: false })));
    }
  });
}
await runBench("gateway-routing", {
  what: "Router.route() per request, explain off; N HTTPRoutes on one HTTP listener; request matches the middle route",
  loadavg_1m: loadavg()[0],
});

// Proxy throughput: a keep-alive load generator (this process) against a backend
// (child process) directly, then through GatewayServer (child process), same run.
const BACKEND = `const http = require("node:http");
const s = http.createServer((req, res) => { req.resume(); req.on("end", () => { res.writeHead(200, {"content-type": "text/plain", "content-length": "3"}); res.end("ok\\n"); }); });
s.listen(0, "127.0.0.1", () => console.log(s.address().port));`;
function child(args, input) {
  // cwd inside the package, so the child's `@knet/gateway` resolves (self-reference) to dist.
  const p = spawn(process.execPath, args, {
    stdio: ["pipe", "pipe", "inherit"],
    cwd: new URL("..", import.meta.url).pathname,
  });
  if (input !== undefined) p.stdin.end(input);
  return new Promise((resolve, reject) => {
    p.stdout.once("data", (b) => resolve({ p, line: b.toString() }));
    p.once("exit", (c) => reject(new Error(`child exited ${c}`)));
  });
}
async function load(port, host, seconds, concurrency) {
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  let done = 0;
  let failed = 0;
  const end = Date.now() + seconds * 1000;
  const one = () =>
    new Promise((resolve) => {
      const r = request({ host: "127.0.0.1", port, path: "/api/items", headers: { host }, agent }, (res) => {
        res.resume();
        res.on("end", () => {
          if (res.statusCode === 200) done++;
          else failed++;
          resolve();
        });
      });
      r.on("error", () => {
        failed++;
        resolve();
      });
      r.end();
    });
  const t0 = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (Date.now() < end) await one();
    }),
  );
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  agent.destroy();
  return { rps: done / secs, failed };
}
const backend = await child(["-e", `process.stdin.resume();${BACKEND.replaceAll("\n", " ")}`]);
const backendPort = Number(backend.line.trim());
// The gateway runs in its own process too, serving 1k host routes.
const GATEWAY_CHILD = `
import { buildGatewayModel, GatewayServer, Router } from "@knet/gateway";
const input = JSON.parse(await new Promise((r) => { let s = ""; process.stdin.on("data", (c) => (s += c)); process.stdin.on("end", () => r(s)); }));
const server = new GatewayServer({ router: new Router(buildGatewayModel(input)), listen: [{ host: "127.0.0.1", port: 0, listenerPort: 80, tls: false }] });
const [b] = await server.start();
console.log(b.boundPort);`;
const inputs = {
  gatewayClasses: [CLASS],
  gateways: [GATEWAY],
  httpRoutes: routes(1000, "hosts"),
  services: [service("app", backendPort)],
  endpointSlices: [slice("app", "127.0.0.1", backendPort)],
};
const gw = await child(["--input-type=module", "-e", GATEWAY_CHILD], JSON.stringify(inputs));
const gwPort = Number(gw.line.trim());
const seconds = Number(process.env.GATEWAY_BENCH_SECONDS ?? 3);
const results = [];
for (const concurrency of [1, 16]) {
  const direct = await load(backendPort, "svc-500.example.com", seconds, concurrency);
  const proxied = await load(gwPort, "svc-500.example.com", seconds, concurrency);
  results.push({
    concurrency,
    direct_rps: direct.rps,
    gateway_rps: proxied.rps,
    ratio: proxied.rps / direct.rps,
    failed: direct.failed + proxied.failed,
  });
  console.log(
    `concurrency ${concurrency}: direct ${direct.rps.toFixed(0)} req/s, through gateway ${proxied.rps.toFixed(0)} req/s (${((100 * proxied.rps) / direct.rps).toFixed(0)}%)`,
  );
}
backend.p.kill();
gw.p.kill();
writeResults("gateway-proxy-throughput", results, {
  what: "HTTP/1.1 keep-alive GETs from this process; backend and GatewayServer (1k host routes) in child processes; direct and proxied measured back to back in one run",
  seconds,
  loadavg_1m: loadavg()[0],
});
