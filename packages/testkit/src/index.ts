/**
 * Helpers for knet's kernel tests: run commands, and create throw-away network
 * namespaces named `knet-<tag>-<pid>-<n>` that are always deleted (at
 * {@link Netns.delete}, or at process exit for any left over). Tests never touch
 * the root namespace's links, routes or rulesets.
 *
 * @module
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "vitest";

/** True when running as root (kernel tests skip otherwise). */
export const isRoot: boolean = process.getuid?.() === 0;

/** True when `cmd` is on PATH. */
export function hasCommand(cmd: string): boolean {
  return spawnSync("sh", ["-c", `command -v ${cmd}`], { stdio: "ignore" }).status === 0;
}

/** Result of {@link sh}. */
export interface RunResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Run a command without a shell; never throws for a non-zero exit. */
export function run(cmd: string, args: readonly string[], input?: string, timeoutMs = 60_000): RunResult {
  const r = spawnSync(cmd, [...args], { input, encoding: "utf8", timeout: timeoutMs, maxBuffer: 256 << 20 });
  return { code: r.status ?? -1, stdout: r.stdout ?? "", stderr: r.stderr ?? (r.error ? String(r.error) : "") };
}

/** Run a command and return stdout; throws with the command and its stderr when it fails. */
export function must(cmd: string, args: readonly string[], input?: string, timeoutMs?: number): string {
  const r = run(cmd, args, input, timeoutMs);
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(" ")} exited ${r.code}: ${r.stderr.trim() || r.stdout.trim()}`);
  return r.stdout;
}

let counter = 0;
const live = new Set<string>();
const children = new Set<ChildProcess>();

process.on("exit", () => {
  for (const c of children) if (c.pid !== undefined && c.exitCode === null) c.kill("SIGKILL");
  for (const ns of live) spawnSync("ip", ["netns", "del", ns], { stdio: "ignore" });
});

/** A unique short tag for link names (kernel limit: 15 characters). */
export function uniqueIfName(prefix: string): string {
  counter++;
  const id = `${(process.pid % 46656).toString(36)}${counter.toString(36)}`;
  return `${prefix.slice(0, 15 - id.length)}${id}`;
}

/** A network namespace the test owns. */
export class Netns {
  /** Full name, `knet-<tag>-<pid>-<n>`. */
  readonly name: string;

  private constructor(name: string) {
    this.name = name;
  }

  /** Create a namespace with loopback up. */
  static create(tag: string): Netns {
    counter++;
    const name = `knet-${tag}-${process.pid}-${counter}`;
    must("ip", ["netns", "add", name]);
    live.add(name);
    const ns = new Netns(name);
    ns.must("ip", ["link", "set", "lo", "up"]);
    return ns;
  }

  /** Run a command inside the namespace. */
  run(cmd: string, args: readonly string[], input?: string, timeoutMs?: number): RunResult {
    return run("ip", ["netns", "exec", this.name, cmd, ...args], input, timeoutMs);
  }

  /** Run inside the namespace; throws when it fails. */
  must(cmd: string, args: readonly string[], input?: string, timeoutMs?: number): string {
    return must("ip", ["netns", "exec", this.name, cmd, ...args], input, timeoutMs);
  }

  /** Start a long-running process inside the namespace; it is killed by PID at {@link Netns.delete} or exit. */
  spawn(cmd: string, args: readonly string[]): ChildProcess {
    const child = spawn("ip", ["netns", "exec", this.name, cmd, ...args], { stdio: ["ignore", "pipe", "pipe"] });
    children.add(child);
    child.on("exit", () => children.delete(child));
    return child;
  }

  /** Kill what {@link Netns.spawn} started and delete the namespace. */
  delete(): void {
    for (const c of children) {
      if (c.spawnargs.includes(this.name) && c.exitCode === null) c.kill("SIGKILL");
    }
    spawnSync("ip", ["netns", "del", this.name], { stdio: "ignore" });
    live.delete(this.name);
  }
}

/**
 * Make a TCP port of the root namespace's 127.0.0.1 reachable on `ns`'s own loopback
 * at the same port (a namespace has its own 127.0.0.1): two socat processes joined by
 * a unix socket in a temporary directory, so no link, route or rule of the root
 * namespace is touched. Resolves once the port answers inside `ns`; the returned
 * function stops both processes (they also end with the namespace or the process).
 */
export async function bridgeLoopbackPort(ns: Netns, port: number): Promise<() => void> {
  const dir = mkdtempSync(join(tmpdir(), "knet-bridge-"));
  const sock = join(dir, "port.sock");
  const outside = spawn("socat", [`UNIX-LISTEN:${sock},fork`, `TCP:127.0.0.1:${port}`], { stdio: "ignore" });
  children.add(outside);
  outside.on("exit", () => children.delete(outside));
  for (let i = 0; i < 100 && !existsSync(sock); i++) await new Promise((r) => setTimeout(r, 20));
  const inside = ns.spawn("socat", [`TCP-LISTEN:${port},bind=127.0.0.1,fork,reuseaddr`, `UNIX-CONNECT:${sock}`]);
  const stop = (): void => {
    for (const c of [inside, outside]) if (c.exitCode === null) c.kill("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  };
  for (let i = 0; i < 100; i++) {
    if (ns.run("bash", ["-c", `exec 3<>/dev/tcp/127.0.0.1/${port}`]).code === 0) return stop;
    await new Promise((r) => setTimeout(r, 50));
  }
  stop();
  throw new Error(`bridgeLoopbackPort: 127.0.0.1:${port} does not answer inside ${ns.name}`);
}

/** Connect two namespaces with a veth pair; returns the two interface names. */
export function vethPair(a: Netns, b: Netns, aName = uniqueIfName("va"), bName = uniqueIfName("vb")): [string, string] {
  const tmpA = uniqueIfName("ta");
  const tmpB = uniqueIfName("tb");
  // Created inside `a`, so the root namespace never holds either end.
  a.must("ip", ["link", "add", tmpA, "type", "veth", "peer", "name", tmpB]);
  a.must("ip", ["link", "set", tmpB, "netns", b.name]);
  a.must("ip", ["link", "set", tmpA, "name", aName]);
  b.must("ip", ["link", "set", tmpB, "name", bName]);
  a.must("ip", ["link", "set", aName, "up"]);
  b.must("ip", ["link", "set", bName, "up"]);
  return [aName, bName];
}

/**
 * A fake clock with timers (the shape of `@knet/kube-proxy`'s `Timers`): time moves
 * only with {@link FakeClock.advance}, which runs the timers due on the way, in order.
 */
export class FakeClock {
  /** Current time, ms. */
  t = 0;
  private timers: { at: number; fn: () => void; id: number }[] = [];
  private next = 0;
  /** Current time, ms. */
  now(): number {
    return this.t;
  }
  /** Run `fn` when the clock has moved `ms` on. */
  setTimeout(fn: () => void, ms: number): unknown {
    const id = this.next++;
    this.timers.push({ at: this.t + ms, fn, id });
    return id;
  }
  /** Cancel a timer. */
  clearTimeout(h: unknown): void {
    this.timers = this.timers.filter((x) => x.id !== h);
  }
  /** Move time on by `ms`, running each timer due at its time. */
  advance(ms: number): void {
    const end = this.t + ms;
    for (;;) {
      this.timers.sort((a, b) => a.at - b.at);
      const first = this.timers[0];
      if (!first || first.at > end) break;
      this.timers.shift();
      this.t = first.at;
      first.fn();
    }
    this.t = end;
  }
}

export type { ApiReply, ApiServer, ApiServerOptions } from "./apiserver.js";
export { apiServerBinaries, freePort, startApiServer } from "./apiserver.js";

/** What a kernel test needs from the machine it runs on. */
export interface KernelNeeds {
  /** The tests need root (network namespaces, rulesets); default true. */
  readonly root?: boolean;
  /** Commands that must be on PATH, or executables by path (scripts/kernel-prereqs.sh installs them). */
  readonly commands?: readonly string[];
  /**
   * Kernel features, each with a probe. A feature this kernel lacks (IPVS on
   * some kernels) cannot be installed, so the tests that need it skip, naming it.
   */
  readonly features?: readonly { readonly name: string; readonly present: () => boolean }[];
}

/** Whether a kernel test can run here, and if not, why. */
export interface KernelGate {
  /** Run the tests. */
  readonly run: boolean;
  /** Why not: empty when they run. */
  readonly reason: string;
  /**
   * The missing prerequisite is a failure, not a skip: root in CI
   * (`CI=true`) must have every command the suite drives.
   */
  readonly fail: boolean;
}

/**
 * Decide whether kernel tests with `needs` run. Not root (when they need it):
 * skip. A missing command: skip on a developer's machine, but fail as root with
 * `CI=true` (a green CI must not hide a missing install step). A kernel feature
 * the machine lacks: skip, naming it, everywhere.
 */
export function kernelGate(
  needs: KernelNeeds,
  env: Readonly<Record<string, string | undefined>> = process.env,
  root: boolean = isRoot,
  have: (cmd: string) => boolean = hasCommand,
): KernelGate {
  if (needs.root !== false && !root) return { run: false, reason: "needs root (network namespaces)", fail: false };
  const lacking = (needs.features ?? []).filter((f) => !f.present()).map((f) => f.name);
  if (lacking.length > 0) return { run: false, reason: `this kernel lacks ${lacking.join(", ")}`, fail: false };
  const missing = (needs.commands ?? []).filter((c) => !have(c));
  if (missing.length > 0) {
    const what = `missing command${missing.length === 1 ? "" : "s"} ${missing.join(", ")} (scripts/kernel-prereqs.sh installs ${missing.length === 1 ? "it" : "them"})`;
    return { run: false, reason: what, fail: root && env.CI === "true" };
  }
  return { run: true, reason: "", fail: false };
}

/**
 * `describe` for kernel tests: runs `body` when {@link kernelGate} allows it;
 * otherwise the suite is skipped with the reason in its name, or (a missing
 * command as root in CI) replaced by one failing test that names what is missing.
 */
export function describeKernel(name: string, needs: KernelNeeds, body: () => void): void {
  const gate = kernelGate(needs);
  if (gate.fail) {
    describe(name, () => {
      it("has its prerequisites", () => {
        throw new Error(`kernel test prerequisite: ${gate.reason}`);
      });
    });
    return;
  }
  describe.skipIf(!gate.run)(gate.run ? name : `${name} [skipped: ${gate.reason}]`, body);
}
