import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { type EndpointSlice, loadManifests, type Service } from "@knet/k8s";
import { ChangeTracker, proxyConfig } from "@knet/kube-proxy";
import { describe, expect, it } from "vitest";
import { dumpLbMaps, type LbAlgorithm, LbReconciler, maglevConfig } from "../src/index.js";

// Cilium's load-balancer control-plane cases (pkg/loadbalancer/tests/testdata):
// each fixture keeps Cilium's inputs and expected `lb/maps-dump` output; the
// script lines are knet's: `config`, `apply`/`delete` (one sync each), `cmp`
// (the dump equals a file), `empty` (all maps empty).

interface Txtar {
  readonly script: string[];
  readonly files: ReadonlyMap<string, string>;
}

function parseTxtar(text: string): Txtar {
  const files = new Map<string, string>();
  const script: string[] = [];
  let name: string | undefined;
  for (const line of text.split("\n")) {
    const m = /^-- (.+) --$/.exec(line);
    if (m) {
      name = m[1] as string;
      files.set(name, "");
    } else if (name !== undefined) files.set(name, `${files.get(name)}${line}\n`);
    else if (line.trim() !== "" && !line.startsWith("#")) script.push(line.trim());
  }
  return { script, files };
}

const dir = join(import.meta.dirname, "fixtures", "cilium");
const cases = readdirSync(dir).filter((f) => f.endsWith(".txtar"));

describe("Cilium load-balancer test cases", () => {
  it("has the ported cases", () => {
    expect(cases.length).toBeGreaterThanOrEqual(4);
  });

  it.each(cases)("%s", (file) => {
    const { script, files } = parseTxtar(readFileSync(join(dir, file), "utf8"));
    const flags = new Map<string, string>();
    const configLine = script.find((l) => l.startsWith("config")) ?? "config";
    for (const f of configLine.split(/\s+/).slice(1)) {
      const [k, v] = f.replace(/^--/, "").split("=");
      flags.set(k as string, v ?? "true");
    }
    const nodeName = flags.get("node-name") ?? "testnode";
    const config = proxyConfig({
      family: 4,
      nodeName,
      nodeIPs: (flags.get("node-ips") ?? "").split(",").filter(Boolean),
    });
    const annotations = new Map<string, Record<string, string>>();
    const reconciler = new LbReconciler(
      config,
      {
        algorithm: (flags.get("lb-algorithm") ?? "random") as LbAlgorithm,
        algorithmAnnotation: flags.has("lb-algorithm-annotation"),
        wildcardEntries: flags.has("wildcard-entries"),
        annotations: (k) => annotations.get(k),
      },
      maglevConfig({ tableSize: Number(flags.get("maglev-table-size") ?? 16381) }),
    );
    const tracker = new ChangeTracker({ family: 4, nodeName });
    const objects = (name: string) => {
      const text = files.get(name);
      if (text === undefined) throw new Error(`${file}: no file ${name}`);
      return loadManifests(text);
    };
    let steps = 0;
    for (const line of script) {
      const [cmd, ...args] = line.split(/\s+/);
      if (cmd === "config") continue;
      if (cmd === "apply" || cmd === "delete") {
        for (const name of args)
          for (const o of objects(name)) {
            const ns = o.metadata?.namespace ?? "default";
            const n = o.metadata?.name ?? "";
            if (o.kind === "Service") {
              if (cmd === "apply") {
                tracker.updateService(o as Service);
                annotations.set(`${ns}/${n}`, { ...(o.metadata?.annotations ?? {}) });
              } else tracker.deleteService(ns, n);
            } else if (o.kind === "EndpointSlice") {
              if (cmd === "apply") tracker.updateEndpointSlice(o as EndpointSlice);
              else tracker.deleteEndpointSlice(ns, n);
            }
          }
        reconciler.sync(tracker.state());
      } else if (cmd === "cmp") {
        const expected = (files.get(args[0] as string) ?? "").split("\n").filter((l) => l !== "");
        expect(dumpLbMaps(reconciler.maps), `${file}: ${line}`).toEqual(expected);
        steps++;
      } else if (cmd === "empty") {
        expect(dumpLbMaps(reconciler.maps), `${file}: ${line}`).toEqual([]);
        steps++;
      } else throw new Error(`${file}: unknown script command ${line}`);
    }
    expect(steps).toBeGreaterThan(0);
  });
});
