/**
 * The kernel differential lab: every pod of a model is a network namespace with
 * one veth to a router namespace (routed, one /24 per pod, as in Calico or
 * kindnet); the compiled ruleset is loaded in the router; each pod runs
 * pod-agent.mjs, which serves TCP/UDP and probes on request.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import type { Pod } from "@knet/k8s";
import type { PortSpec } from "@knet/netpol";
import { Netns, vethPair } from "@knet/testkit";

const AGENT = fileURLToPath(new URL("./pod-agent.mjs", import.meta.url));

interface LabPod {
  readonly key: string;
  readonly ns: Netns;
  readonly ip: string;
  readonly agent: ChildProcess;
  readonly waiters: Map<number, (r: string[]) => void>;
}

export class Lab {
  readonly router: Netns;
  readonly pods: readonly LabPod[];
  private nextId = 1;

  private constructor(router: Netns, pods: LabPod[]) {
    this.router = router;
    this.pods = pods;
  }

  /** Build the router and one namespace per pod (pods need exactly one IPv4 in a distinct /24). */
  static async create(pods: readonly Pod[], ports: readonly number[]): Promise<Lab> {
    const router = Netns.create("nprt");
    const made: LabPod[] = [];
    try {
      router.must("sysctl", ["-qw", "net.ipv4.ip_forward=1"]);
      for (const p of pods) {
        const key = `${p.metadata?.namespace}/${p.metadata?.name}`;
        const ip = p.status?.podIP as string;
        const gw = ip.replace(/\.[0-9]+$/, ".1");
        const ns = Netns.create("nppod");
        const [rIf, pIf] = vethPair(router, ns, undefined, "eth0");
        router.must("ip", ["addr", "add", `${gw}/24`, "dev", rIf]);
        ns.must("ip", ["addr", "add", `${ip}/24`, "dev", pIf]);
        ns.must("ip", ["route", "add", "default", "via", gw]);
        const agent = spawn("ip", ["netns", "exec", ns.name, process.execPath, AGENT, ...ports.map(String)], {
          stdio: ["pipe", "pipe", "inherit"],
        });
        const waiters = new Map<number, (r: string[]) => void>();
        const lp: LabPod = { key, ns, ip, agent, waiters };
        made.push(lp);
        await new Promise<void>((resolve, reject) => {
          const rl = createInterface({ input: agent.stdout as NodeJS.ReadableStream });
          const t = setTimeout(() => reject(new Error(`agent in ${key} did not start`)), 15_000);
          rl.on("line", (line) => {
            if (line === "ready") {
              clearTimeout(t);
              resolve();
              return;
            }
            const msg = JSON.parse(line) as { id: number; results: string[] };
            waiters.get(msg.id)?.(msg.results);
            waiters.delete(msg.id);
          });
          agent.on("exit", () => reject(new Error(`agent in ${key} exited`)));
        });
      }
    } catch (e) {
      for (const p of made) p.agent.kill("SIGKILL");
      for (const p of made) p.ns.delete();
      router.delete();
      throw e;
    }
    return new Lab(router, made);
  }

  /** Load an nft script in the router (one transaction) and forget old connections. */
  load(script: string): void {
    this.router.must("nft", ["-f", "-"], script);
    this.router.run("conntrack", ["-F"]);
  }

  /** Current ruleset with counters (for attribution on a mismatch). */
  ruleset(table: string): string {
    return this.router.run("nft", ["list", "table", "inet", table]).stdout;
  }

  private ask(p: LabPod, targets: [string, number, string][], timeoutMs: number): Promise<string[]> {
    const id = this.nextId++;
    return new Promise((resolve) => {
      p.waiters.set(id, resolve);
      p.agent.stdin?.write(`${JSON.stringify({ id, timeoutMs, targets })}\n`);
    });
  }

  /** Probe arbitrary targets from one pod: "ok", "timeout", "refused" or "error" each. */
  probe(fromKey: string, targets: [string, number, string][], timeoutMs = 400): Promise<string[]> {
    const from = this.pods.find((p) => p.key === fromKey);
    if (from === undefined) throw new Error(`no pod ${fromKey} in the lab`);
    return this.ask(from, targets, timeoutMs);
  }

  /**
   * Probe every ordered pair (loopback counted as allowed, as upstream ignores it)
   * on one port. `allowed[i][j]`: pods[i] reached pods[j]. Throws when a probe was
   * refused (no listener or a reject: the harness must only see drops).
   */
  async matrix(port: PortSpec, timeoutMs = 400): Promise<boolean[][]> {
    const answers = await Promise.all(
      this.pods.map((from) =>
        this.ask(
          from,
          this.pods
            .filter((to) => to !== from)
            .map((to) => [to.ip, port.port, port.protocol] as [string, number, string]),
          timeoutMs,
        ),
      ),
    );
    return this.pods.map((from, i) => {
      const res = answers[i] as string[];
      let k = 0;
      return this.pods.map((to) => {
        if (to === from) return true;
        const r = res[k++];
        if (r !== "ok" && r !== "timeout")
          throw new Error(`probe ${from.key} -> ${to.key} ${port.port}/${port.protocol}: ${r}`);
        return r === "ok";
      });
    });
  }

  /** Kill the agents (by PID) and delete every namespace. */
  destroy(): void {
    for (const p of this.pods) {
      p.agent.stdin?.end();
      p.agent.kill("SIGKILL");
    }
    for (const p of this.pods) p.ns.delete();
    this.router.delete();
  }
}
