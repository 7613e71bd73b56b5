// `knet dns serve --kubeconfig` as a user runs it: the built CLI against a real
// kube-apiserver, asked with the real `dig`; a Service created after start-up is
// answered, and SIGTERM ends the process with exit 0.
import { type ChildProcess, execFile, spawn, spawnSync } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { type ApiServer, freePort, startApiServer } from "@knet/testkit";
import { afterAll, beforeAll, expect, it } from "vitest";

const exec = promisify(execFile);
const root = join(import.meta.dirname, "..", "..", "..");
let server: ApiServer;
let cli: ChildProcess | undefined;

beforeAll(async () => {
  const b = spawnSync(process.execPath, [join(root, "scripts", "build.mjs"), "--js", "--quiet"], { encoding: "utf8" });
  expect(b.status, b.stderr).toBe(0);
  server = await startApiServer();
});
afterAll(async () => {
  if (cli?.exitCode === null) cli.kill("SIGKILL");
  await server?.stop();
});

it("serves a live cluster and follows it", async () => {
  expect((await server.api("POST", "/api/v1/namespaces", { metadata: { name: "shop" } })).status).toBe(201);
  const port = await freePort();
  const proc = spawn(process.execPath, [
    join(root, "packages", "cli", "dist", "bin.js"),
    "dns",
    "serve",
    "--kubeconfig",
    server.kubeconfig,
    "--listen",
    `127.0.0.1:${port}`,
  ]);
  cli = proc;
  let out = "";
  let err = "";
  proc.stdout?.on("data", (b: Buffer) => {
    out += b.toString();
  });
  proc.stderr?.on("data", (b: Buffer) => {
    err += b.toString();
  });
  const t0 = Date.now();
  while (!out.includes("serving") && Date.now() - t0 < 30_000 && proc.exitCode === null)
    await new Promise((r) => setTimeout(r, 50));
  expect(out, err).toContain(`serving cluster.local`);
  expect(err).toContain("synced with https://127.0.0.1:");

  const created = await server.api("POST", "/api/v1/namespaces/shop/services", {
    metadata: { name: "api" },
    spec: { clusterIP: "10.96.0.42", selector: { app: "api" }, ports: [{ port: 80 }] },
  });
  expect(created.status).toBe(201);
  let answer = "";
  for (let i = 0; i < 50 && !answer.includes("10.96.0.42"); i++) {
    const { stdout } = await exec("dig", ["@127.0.0.1", "-p", String(port), "+short", "api.shop.svc.cluster.local"]);
    answer = stdout;
    if (!answer.includes("10.96.0.42")) await new Promise((r) => setTimeout(r, 20));
  }
  expect(answer.trim()).toBe("10.96.0.42");

  const exited = new Promise<number | null>((r) => proc.once("exit", (code) => r(code)));
  proc.kill("SIGTERM");
  expect(await exited).toBe(0);
});
