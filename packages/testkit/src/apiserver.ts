/**
 * A real kube-apiserver (v1.20.2, built from Debian's source package by
 * `scripts/k8s-apiserver-build.sh` and cached outside the clone) with its own etcd,
 * and optionally kube-controller-manager for real EndpointSlices, all on 127.0.0.1
 * ports taken from a bind to port 0, in a throw-away directory. For the live suite
 * (`*.live.test.ts`). Facts and gotchas: shared/reference/real-apiserver.md.
 *
 * @module
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { request } from "node:https";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** A running API server; {@link ApiServer.stop} ends every process it started. */
export interface ApiServer {
  /** `https://127.0.0.1:PORT`. */
  readonly url: string;
  /** Bearer token of a `system:masters` user. */
  readonly token: string;
  /** Path of a kubeconfig for this server (insecure TLS, token auth). */
  readonly kubeconfig: string;
  /** Directory holding the binaries. */
  readonly binDir: string;
  /** GET/POST/PUT/PATCH/DELETE a path with the admin token; resolves with status and parsed JSON body. */
  api<T = unknown>(method: string, path: string, body?: unknown, contentType?: string): Promise<ApiReply<T>>;
  /** Stop and start the apiserver only (etcd keeps its data): watches break and must recover. */
  restartApiServer(): Promise<void>;
  /** Stop every process (apiserver first, then controllers, then etcd) and delete the directory. */
  stop(): Promise<void>;
}

/** An API server's answer: HTTP status and the parsed JSON body (text when not JSON). */
export interface ApiReply<T> {
  readonly status: number;
  readonly body: T;
}

/** Options of {@link startApiServer}. */
export interface ApiServerOptions {
  /** Also run kube-controller-manager (endpoint, endpointslice, namespace, serviceaccount controllers). */
  readonly controllers?: boolean;
  /** Service ClusterIP range (default 10.96.0.0/12). Only data: nothing is sent there. */
  readonly serviceCidr?: string;
}

const root = join(import.meta.dirname, "..", "..", "..");

/** Build (or find cached) binaries; returns their directory. Takes ~17 min cold, 0 s cached. */
export function apiServerBinaries(): string {
  const r = spawnSync("bash", [join(root, "scripts", "k8s-apiserver-build.sh")], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "inherit"],
    timeout: 60 * 60_000,
  });
  const dir = r.stdout.trim().split("\n").pop() ?? "";
  if (r.status !== 0 || dir === "") throw new Error(`scripts/k8s-apiserver-build.sh failed (exit ${r.status})`);
  return dir;
}

/** A TCP port on 127.0.0.1 that was free a moment ago (bind to port 0, read it, close). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

const started = new Set<ChildProcess>();
process.once("exit", () => {
  for (const p of started) if (p.exitCode === null) p.kill("SIGKILL");
});

function launch(cmd: string, args: string[], logFile: string): ChildProcess {
  const p = spawn(cmd, args, { stdio: ["ignore", "ignore", "pipe"] });
  const chunks: Buffer[] = [];
  p.stderr?.on("data", (b: Buffer) => {
    chunks.push(b);
    if (chunks.length > 400) chunks.shift();
  });
  p.once("exit", () => {
    started.delete(p);
    try {
      writeFileSync(logFile, Buffer.concat(chunks));
    } catch {
      // the directory is already gone after stop()
    }
  });
  started.add(p);
  return p;
}

function exited(p: ChildProcess, ms: number): Promise<void> {
  if (p.exitCode !== null || p.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const t = setTimeout(() => {
      p.kill("SIGKILL");
    }, ms);
    p.once("exit", () => {
      clearTimeout(t);
      resolve();
    });
  });
}

function call<T>(
  url: string,
  token: string,
  method: string,
  path: string,
  body?: unknown,
  contentType = "application/json",
): Promise<ApiReply<T>> {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const req = request(
      `${url}${path}`,
      {
        method,
        rejectUnauthorized: false,
        headers: {
          authorization: `Bearer ${token}`,
          accept: "application/json",
          ...(data ? { "content-type": contentType, "content-length": data.length } : {}),
        },
        timeout: 10_000,
      },
      (res) => {
        const parts: Buffer[] = [];
        res.on("data", (c: Buffer) => parts.push(c));
        res.on("end", () => {
          const text = Buffer.concat(parts).toString("utf8");
          let parsed: unknown = text;
          try {
            parsed = JSON.parse(text);
          } catch {
            // plain text bodies (readyz) stay strings
          }
          resolve({ status: res.statusCode ?? 0, body: parsed as T });
        });
      },
    );
    req.on("timeout", () => req.destroy(new Error(`${method} ${path}: timed out`)));
    req.on("error", reject);
    req.end(data);
  });
}

async function waitReady(url: string, token: string, proc: ChildProcess, log: () => string): Promise<void> {
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline) {
    if (proc.exitCode !== null) throw new Error(`kube-apiserver exited ${proc.exitCode}: ${log()}`);
    try {
      const r = await call(url, token, "GET", "/readyz");
      if (r.status === 200) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`kube-apiserver not ready after 120 s: ${log()}`);
}

/** Start etcd + kube-apiserver (+ kube-controller-manager) on loopback; resolves once /readyz says ok. */
export async function startApiServer(options: ApiServerOptions = {}): Promise<ApiServer> {
  const binDir = apiServerBinaries();
  const dir = mkdtempSync(join(tmpdir(), "knet-live-"));
  const token = `knet-${process.pid}-${Math.random().toString(36).slice(2)}`;
  const must = (cmd: string, args: string[]) => {
    const r = spawnSync(cmd, args, { cwd: dir, encoding: "utf8" });
    if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")}: ${r.stderr}`);
  };
  must("openssl", ["genrsa", "-out", "sa.key", "2048"]);
  must("openssl", ["rsa", "-in", "sa.key", "-pubout", "-out", "sa.pub"]);
  writeFileSync(join(dir, "tokens.csv"), `${token},admin,admin,system:masters\n`);
  const [etcdClient, etcdPeer, apiPort] = [await freePort(), await freePort(), await freePort()];
  const url = `https://127.0.0.1:${apiPort}`;
  const kubeconfig = join(dir, "kubeconfig");
  writeFileSync(
    kubeconfig,
    [
      "apiVersion: v1",
      "kind: Config",
      "clusters:",
      `- name: live\n  cluster:\n    server: ${url}\n    insecure-skip-tls-verify: true`,
      "users:",
      `- name: admin\n  user:\n    token: ${token}`,
      "contexts:",
      "- name: live\n  context:\n    cluster: live\n    user: admin",
      "current-context: live",
      "",
    ].join("\n"),
  );

  const etcd = launch(
    "etcd",
    [
      "--name=e0",
      `--data-dir=${join(dir, "etcd")}`,
      `--listen-client-urls=http://127.0.0.1:${etcdClient}`,
      `--advertise-client-urls=http://127.0.0.1:${etcdClient}`,
      `--listen-peer-urls=http://127.0.0.1:${etcdPeer}`,
      `--initial-advertise-peer-urls=http://127.0.0.1:${etcdPeer}`,
      `--initial-cluster=e0=http://127.0.0.1:${etcdPeer}`,
      "--initial-cluster-state=new",
      "--listen-metrics-urls=",
      "--log-level=warn",
    ],
    join(dir, "etcd.log"),
  );
  const apiArgs = [
    `--etcd-servers=http://127.0.0.1:${etcdClient}`,
    "--bind-address=127.0.0.1",
    "--advertise-address=127.0.0.1",
    `--secure-port=${apiPort}`,
    "--insecure-port=0",
    `--cert-dir=${join(dir, "certs")}`,
    `--service-cluster-ip-range=${options.serviceCidr ?? "10.96.0.0/12"}`,
    "--service-node-port-range=30000-32767",
    "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
    "--api-audiences=https://kubernetes.default.svc.cluster.local",
    `--service-account-key-file=${join(dir, "sa.pub")}`,
    `--service-account-signing-key-file=${join(dir, "sa.key")}`,
    `--token-auth-file=${join(dir, "tokens.csv")}`,
    "--anonymous-auth=false",
    "--authorization-mode=RBAC",
    "--disable-admission-plugins=ServiceAccount",
    "--endpoint-reconciler-type=none",
  ];
  let apiserver = launch(join(binDir, "kube-apiserver"), apiArgs, join(dir, "apiserver.log"));
  let stderrTail = "";
  const tail = () => stderrTail;
  apiserver.stderr?.on("data", (b: Buffer) => {
    stderrTail = (stderrTail + b.toString()).slice(-2000);
  });
  await waitReady(url, token, apiserver, tail);

  let kcm: ChildProcess | undefined;
  if (options.controllers) {
    kcm = launch(
      join(binDir, "kube-controller-manager"),
      [
        `--kubeconfig=${kubeconfig}`,
        "--leader-elect=false",
        "--port=0",
        "--secure-port=0",
        "--controllers=endpoint,endpointslice,namespace,serviceaccount",
        "--use-service-account-credentials=false",
      ],
      join(dir, "kcm.log"),
    );
  }

  return {
    url,
    token,
    kubeconfig,
    binDir,
    api: <T>(method: string, path: string, body?: unknown, contentType?: string) =>
      call<T>(url, token, method, path, body, contentType),
    async restartApiServer() {
      apiserver.kill("SIGTERM");
      await exited(apiserver, 30_000);
      apiserver = launch(join(binDir, "kube-apiserver"), apiArgs, join(dir, "apiserver.log"));
      await waitReady(url, token, apiserver, tail);
    },
    async stop() {
      // The apiserver first (it waits for etcd on shutdown), then the controllers, then etcd.
      apiserver.kill("SIGTERM");
      await exited(apiserver, 30_000);
      if (kcm) {
        kcm.kill("SIGTERM");
        await exited(kcm, 10_000);
      }
      etcd.kill("SIGTERM");
      await exited(etcd, 10_000);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
