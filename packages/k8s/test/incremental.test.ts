import {
  ClusterState,
  defaultService,
  type EndpointSlice,
  endpointSlicesFor,
  type KubeObject,
  LabelIndex,
  type LabelSelector,
  matchSelector,
  type Pod,
} from "@knet/k8s";
import fc from "fast-check";
import { describe, expect, it } from "vitest";

const key = fc.constantFrom("app", "tier", "zone");
const value = fc.constantFrom("a", "b", "c");
const labelsArb = fc.dictionary(key, value, { maxKeys: 3 });
const selectorArb: fc.Arbitrary<LabelSelector | undefined> = fc.option(
  fc.record(
    {
      matchLabels: fc.dictionary(key, value, { maxKeys: 2 }),
      matchExpressions: fc.array(
        fc.oneof(
          fc.record({
            key,
            operator: fc.constantFrom("In", "NotIn"),
            values: fc.uniqueArray(value, { minLength: 1, maxLength: 2 }),
          }),
          fc.record({ key, operator: fc.constantFrom("Exists", "DoesNotExist") }),
        ),
        { maxLength: 2 },
      ),
    },
    { requiredKeys: [] },
  ),
  { nil: undefined },
);

type Op = { op: "set"; id: number; labels: Record<string, string> } | { op: "del"; id: number };
const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ op: fc.constant("set" as const), id: fc.integer({ min: 0, max: 15 }), labels: labelsArb }),
  fc.record({ op: fc.constant("del" as const), id: fc.integer({ min: 0, max: 15 }) }),
);

describe("LabelIndex", () => {
  it("selects exactly what a scan with matchSelector selects, after any add/update/delete sequence", () => {
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 40 }), selectorArb, (ops, sel) => {
        const idx = new LabelIndex<number>();
        const model = new Map<number, Record<string, string>>();
        for (const o of ops) {
          if (o.op === "set") {
            idx.set(o.id, o.labels);
            model.set(o.id, o.labels);
          } else {
            idx.delete(o.id);
            model.delete(o.id);
          }
        }
        const want = [...model]
          .filter(([, l]) => matchSelector(sel, l))
          .map(([id]) => id)
          .sort((a, b) => a - b);
        expect(idx.select(sel).sort((a, b) => a - b)).toEqual(want);
        const map = sel?.matchLabels ?? {};
        const wantMap = [...model]
          .filter(([, l]) => matchSelector({ matchLabels: map }, l))
          .map(([id]) => id)
          .sort((a, b) => a - b);
        expect(idx.selectMap(map).sort((a, b) => a - b)).toEqual(wantMap);
        expect(idx.size).toBe(model.size);
      }),
      { numRuns: 500 },
    );
  });
});

// Random cluster changes: pods come, go, move labels, turn ready; services change selectors.
type ClusterOp =
  | { op: "pod"; id: number; app: string; ready: boolean; deleting: boolean }
  | { op: "delpod"; id: number }
  | { op: "svc"; id: number; app: string }
  | { op: "delsvc"; id: number }
  | { op: "node"; zone: string | undefined };
const clusterOpArb: fc.Arbitrary<ClusterOp> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({
      op: fc.constant("pod" as const),
      id: fc.integer({ min: 0, max: 20 }),
      app: value,
      ready: fc.boolean(),
      deleting: fc.boolean(),
    }),
  },
  { weight: 2, arbitrary: fc.record({ op: fc.constant("delpod" as const), id: fc.integer({ min: 0, max: 20 }) }) },
  {
    weight: 2,
    arbitrary: fc.record({ op: fc.constant("svc" as const), id: fc.integer({ min: 0, max: 3 }), app: value }),
  },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("delsvc" as const), id: fc.integer({ min: 0, max: 3 }) }) },
  {
    weight: 1,
    arbitrary: fc.record({
      op: fc.constant("node" as const),
      zone: fc.option(fc.constantFrom("z1", "z2"), { nil: undefined }),
    }),
  },
);

function toObject(o: ClusterOp): KubeObject | undefined {
  switch (o.op) {
    case "pod":
      return {
        apiVersion: "v1",
        kind: "Pod",
        metadata: {
          name: `p${o.id}`,
          namespace: "ns",
          labels: { app: o.app },
          ...(o.deleting ? { deletionTimestamp: "2024-01-01T00:00:00Z" } : {}),
        },
        spec: { nodeName: "n1", containers: [{ name: "c", ports: [{ name: "http", containerPort: 8000 + o.id }] }] },
        status: {
          phase: "Running",
          podIP: `10.0.0.${o.id + 1}`,
          conditions: [{ type: "Ready", status: o.ready ? "True" : "False" }],
        },
      };
    case "svc":
      return {
        apiVersion: "v1",
        kind: "Service",
        metadata: { name: `s${o.id}`, namespace: "ns" },
        spec: { selector: { app: o.app }, ports: [{ name: "http", port: 80, targetPort: "http" }] },
      };
    case "node":
      return {
        apiVersion: "v1",
        kind: "Node",
        metadata: { name: "n1", ...(o.zone ? { labels: { "topology.kubernetes.io/zone": o.zone } } : {}) },
      };
    default:
      return undefined;
  }
}

const canon = (slices: readonly EndpointSlice[]): unknown =>
  slices
    .map((s) => ({ name: s.metadata?.name, ports: s.ports, endpoints: s.endpoints }))
    .sort((a, b) => String(a.name).localeCompare(String(b.name)));

describe("ClusterState EndpointSlice controller", () => {
  it("incremental slices always equal the controller run from scratch", () => {
    fc.assert(
      fc.property(fc.array(clusterOpArb, { maxLength: 30 }), fc.boolean(), (ops, batched) => {
        const st = new ClusterState();
        const apply = (o: ClusterOp): void => {
          if (o.op === "delpod") st.delete("Pod", "ns", `p${o.id}`);
          else if (o.op === "delsvc") st.delete("Service", "ns", `s${o.id}`);
          else st.apply(toObject(o) as KubeObject);
        };
        if (batched) {
          // Deletions cannot be batched with applyAll; run them one by one and batch the rest.
          let run: KubeObject[] = [];
          for (const o of ops) {
            const obj = toObject(o);
            if (obj !== undefined) run.push(obj);
            else {
              st.applyAll(run);
              run = [];
              apply(o);
            }
          }
          st.applyAll(run);
        } else {
          for (const o of ops) apply(o);
        }
        const pods: Pod[] = st.list("Pod");
        const nodes = st.list("Node");
        for (const svc of st.list("Service")) {
          const want = endpointSlicesFor(defaultService(svc), pods, nodes.length > 0 ? { nodes } : {});
          expect(canon(st.endpointSlicesOf("ns", svc.metadata?.name ?? ""))).toEqual(canon(want));
        }
        // No slice outlives its service.
        const names = new Set(st.list("Service").map((s) => s.metadata?.name));
        for (const sl of st.list("EndpointSlice"))
          expect(names.has(sl.metadata?.labels?.["kubernetes.io/service-name"])).toBe(true);
      }),
      { numRuns: 300 },
    );
  });
});
