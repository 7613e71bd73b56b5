import { readFileSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { main } from "@knet/cli";
import { loadManifests, serializeManifests } from "@knet/k8s";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { capture } from "./capture.js";

const dump = join(import.meta.dirname, "../../../examples/manifests/kubectl-get-all-namespaces.yaml");
let dir = "";
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "knet-dump-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("knet validate -f of kubectl get output", () => {
  it("a kubectl get svc,endpointslices,pods,ns,netpol -A -o yaml dump (managedFields, status, ownerReferences) exits 0", async () => {
    const c = capture();
    expect(await main(["validate", "-f", dump], c.io)).toBe(0);
    expect(c.out()).toBe("Service: 3\nEndpointSlice: 3\nPod: 2\nNamespace: 3\nNetworkPolicy: 1\n");
  });

  it("the same dump as -o json, and as jq -c documents separated by ---, exits 0", async () => {
    const items = loadManifests(readFileSync(dump, "utf8")); // as written, not defaulted
    const json = join(dir, "dump.json");
    await writeFile(json, serializeManifests(items, "json"));
    const stream = join(dir, "dump-stream.yaml");
    await writeFile(stream, items.map((i) => JSON.stringify(i)).join("\n---\n"));
    for (const f of [json, stream]) {
      const c = capture();
      expect(await main(["validate", "-f", f], c.io), c.err()).toBe(0);
    }
  });
});
