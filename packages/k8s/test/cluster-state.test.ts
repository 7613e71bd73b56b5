import { type ChangeEvent, ClusterState, type KubeObject, StateError } from "@knet/k8s";
import { describe, expect, it } from "vitest";

const svc: KubeObject = {
  apiVersion: "v1",
  kind: "Service",
  metadata: { name: "api", namespace: "shop" },
  spec: { selector: { app: "api" }, ports: [{ port: 80 }] },
};
const pod = (name: string, labels: Record<string, string>, ip: string, node = "node-a"): KubeObject => ({
  apiVersion: "v1",
  kind: "Pod",
  metadata: { name, namespace: "shop", labels },
  spec: { nodeName: node, containers: [{ name: "c" }] },
  status: { phase: "Running", podIP: ip, conditions: [{ type: "Ready", status: "True" }] },
});
const summary = (e: ChangeEvent): string => `${e.type} ${e.kind} ${e.namespace}/${e.name}`;

describe("ClusterState", () => {
  it("stores defaulted objects and emits add/update/delete; no event for a no-op", () => {
    const st = new ClusterState({ endpointSliceController: false });
    const seen: string[] = [];
    const off = st.subscribe((e) => seen.push(summary(e)));
    st.apply(svc);
    expect(st.get("Service", "shop", "api")?.spec?.type).toBe("ClusterIP");
    expect(st.apply(svc)).toBeUndefined();
    st.apply({ ...svc, spec: { selector: { app: "api" }, ports: [{ port: 81 }] } } as KubeObject);
    st.delete("Service", "shop", "api");
    off();
    st.apply(svc);
    expect(seen).toEqual(["added Service shop/api", "updated Service shop/api", "deleted Service shop/api"]);
  });

  it("runs the EndpointSlice controller incrementally as pods come, change labels and go", () => {
    const st = new ClusterState();
    const events: string[] = [];
    st.apply(svc);
    st.subscribe((e) =>
      events.push(
        `${e.type} ${e.kind} ${e.kind === "EndpointSlice" ? (e.object.kind === "EndpointSlice" ? e.object.endpoints.map((x) => x.addresses[0]).join(",") : "") : e.name}`,
      ),
    );
    const [placeholder] = st.endpointSlicesOf("shop", "api");
    expect(placeholder?.endpoints).toEqual([]);
    st.apply(pod("a", { app: "api" }, "10.244.1.2"));
    st.apply(pod("b", { app: "api" }, "10.244.1.3"));
    st.apply(pod("c", { app: "web" }, "10.244.1.4")); // not selected: no slice change
    st.apply(pod("b", { app: "old" }, "10.244.1.3")); // relabelled away
    st.delete("Pod", "shop", "a");
    expect(events).toEqual([
      "added Pod a",
      "updated EndpointSlice 10.244.1.2",
      "added Pod b",
      "updated EndpointSlice 10.244.1.2,10.244.1.3",
      "added Pod c",
      "updated Pod b",
      "updated EndpointSlice 10.244.1.2",
      "deleted Pod a",
      "updated EndpointSlice ",
    ]);
    st.delete("Service", "shop", "api");
    expect(st.count("EndpointSlice")).toBe(0);
  });

  it("keeps user slices of selector-less services and indexes slices by service", () => {
    const st = new ClusterState();
    st.apply({
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: "ext", namespace: "shop" },
      spec: { ports: [{ port: 5432 }] },
    });
    st.apply({
      apiVersion: "discovery.k8s.io/v1",
      kind: "EndpointSlice",
      metadata: { name: "ext-1", namespace: "shop", labels: { "kubernetes.io/service-name": "ext" } },
      addressType: "IPv4",
      endpoints: [{ addresses: ["192.0.2.10"] }],
      ports: [{ port: 5432 }],
    });
    st.apply({
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: "ext", namespace: "shop" },
      spec: { ports: [{ port: 5433 }] },
    });
    expect(st.endpointSlicesOf("shop", "ext").map((s) => s.metadata?.name)).toEqual(["ext-1"]);
    expect(st.endpointSlicesOf("shop", "ext")[0]?.ports?.[0]).toEqual({ port: 5432, protocol: "TCP", name: "" });
  });

  it("adds zones when nodes appear and drops pods on unknown nodes once nodes exist", () => {
    const st = new ClusterState();
    st.applyAll([
      svc,
      pod("a", { app: "api" }, "10.244.1.2", "node-a"),
      pod("b", { app: "api" }, "10.244.2.2", "node-b"),
    ]);
    expect(st.endpointSlicesOf("shop", "api")[0]?.endpoints).toHaveLength(2);
    st.apply({
      apiVersion: "v1",
      kind: "Node",
      metadata: { name: "node-a", labels: { "topology.kubernetes.io/zone": "z1" } },
    });
    expect(st.endpointSlicesOf("shop", "api")[0]?.endpoints.map((e) => [e.nodeName, e.zone])).toEqual([
      ["node-a", "z1"],
    ]);
    st.apply({
      apiVersion: "v1",
      kind: "Node",
      metadata: { name: "node-b", labels: { "topology.kubernetes.io/zone": "z2" } },
    });
    expect(st.endpointSlicesOf("shop", "api")[0]?.endpoints.map((e) => e.zone)).toEqual(["z1", "z2"]);
  });

  it("selects pods and namespaces through its indexes, and replays on subscribe", () => {
    const st = new ClusterState({ endpointSliceController: false });
    st.applyAll([
      { apiVersion: "v1", kind: "Namespace", metadata: { name: "shop" } },
      pod("a", { app: "api", tier: "be" }, "10.0.0.1"),
      pod("b", { app: "web" }, "10.0.0.2"),
    ]);
    expect(
      st
        .podsSelectedBy("shop", { matchExpressions: [{ key: "app", operator: "In", values: ["api", "web"] }] })
        .map((p) => p.metadata?.name)
        .sort(),
    ).toEqual(["a", "b"]);
    expect(
      st
        .podsSelectedBy("shop", { matchExpressions: [{ key: "tier", operator: "DoesNotExist" }] })
        .map((p) => p.metadata?.name),
    ).toEqual(["b"]);
    expect(st.podsSelectedBy("shop", undefined)).toEqual([]);
    expect(
      st.namespacesSelectedBy({ matchLabels: { "kubernetes.io/metadata.name": "shop" } }).map((n) => n.metadata?.name),
    ).toEqual(["shop"]);
    const replayed: string[] = [];
    st.subscribe((e) => replayed.push(summary(e)), { replay: true, kinds: ["Namespace", "Pod"] });
    expect(replayed).toEqual(["added Namespace /shop", "added Pod shop/a", "added Pod shop/b"]);
  });

  it("add refuses duplicates, update refuses unknown objects; typed subscriptions narrow the event", () => {
    const st = new ClusterState();
    const ports: number[] = [];
    st.subscribe(
      (e) => {
        // e.object is a Service here: no cast needed.
        ports.push(e.object.spec?.ports?.[0]?.port ?? -1);
      },
      { kinds: ["Service"] },
    );
    st.add(svc);
    expect(() => st.add(svc)).toThrow(StateError);
    try {
      st.update({ ...svc, metadata: { name: "nope", namespace: "shop" } } as KubeObject);
      expect.unreachable();
    } catch (e) {
      expect((e as StateError).reason).toBe("NotFound");
    }
    st.update({ ...svc, spec: { selector: { app: "api" }, ports: [{ port: 8080 }] } } as KubeObject);
    expect(ports).toEqual([80, 8080]);
  });
});
