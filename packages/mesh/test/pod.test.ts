import type { Namespace, Pod } from "@knet/k8s";
import { captureFromPod, iptablesCapture, MeshError, parseSpiffeId, spiffeId } from "@knet/mesh";
import { describe, expect, it } from "vitest";
import { DEFAULT_POD_INIT_ARGS } from "./default-pod-args.js";

const ns = (name: string, injection?: string): Namespace => ({
  apiVersion: "v1",
  kind: "Namespace",
  metadata: { name, ...(injection === undefined ? {} : { labels: { "istio-injection": injection } }) },
});

const pod = (
  over: { annotations?: Record<string, string>; labels?: Record<string, string>; hostNetwork?: boolean } = {},
): Pod => ({
  apiVersion: "v1",
  kind: "Pod",
  metadata: {
    name: "reviews-v1",
    namespace: "bookinfo",
    ...(over.annotations === undefined ? {} : { annotations: over.annotations }),
    ...(over.labels === undefined ? {} : { labels: over.labels }),
  },
  spec: {
    serviceAccountName: "bookinfo-reviews",
    ...(over.hostNetwork === undefined ? {} : { hostNetwork: over.hostNetwork }),
    containers: [
      {
        name: "reviews",
        image: "reviews",
        ports: [{ containerPort: 9080 }, { containerPort: 9081, protocol: "UDP" }],
      },
    ],
  },
  status: { podIP: "10.244.1.7" },
});

describe("sidecar injector: pod -> istio-init arguments -> capture configuration", () => {
  const injected = ns("bookinfo", "enabled");

  it("writes istio-init's arguments as istiod's injection template does, with the mesh defaults", () => {
    const c = captureFromPod(pod(), { namespace: injected });
    expect(c.injected).toBe(true);
    expect(c.args).toEqual([...DEFAULT_POD_INIT_ARGS, "--log_output_level=default:info"]);
    expect(c.spiffeId).toBe("spiffe://cluster.local/ns/bookinfo/sa/bookinfo-reviews");
    expect(c.applicationPorts).toEqual([9080]);
    expect(c.config?.inboundPortsExclude).toBe("15090,15021,15020");
    const rules = iptablesCapture(c.config).v4;
    expect(rules).toContain("-A ISTIO_INBOUND -p tcp --dport 15020 -j RETURN");
    expect(rules).toContain("-A ISTIO_INBOUND -p tcp -j ISTIO_IN_REDIRECT");
    expect(rules).toContain("-A ISTIO_OUTPUT -j ISTIO_REDIRECT");
  });

  it("maps every traffic annotation to its flag", () => {
    const c = captureFromPod(
      pod({
        annotations: {
          "sidecar.istio.io/interceptionMode": "TPROXY",
          "traffic.sidecar.istio.io/includeOutboundIPRanges": "10.96.0.0/12",
          "traffic.sidecar.istio.io/excludeOutboundIPRanges": "10.96.0.1/32",
          "traffic.sidecar.istio.io/includeInboundPorts": "9080",
          "traffic.sidecar.istio.io/excludeInboundPorts": "9090,15020",
          "traffic.sidecar.istio.io/includeOutboundPorts": "3306",
          "traffic.sidecar.istio.io/excludeOutboundPorts": "5432",
          "traffic.sidecar.istio.io/kubevirtInterfaces": "net1",
          "istio.io/reroute-virtual-interfaces": "net2",
          "traffic.sidecar.istio.io/excludeInterfaces": "net3",
          "sidecar.istio.io/agentLogLevel": "debug",
        },
      }),
      { namespace: injected, mesh: { proxyUid: 2000 } },
    );
    expect(c.args).toEqual([
      "-p",
      "15001",
      "-z",
      "15006",
      "-u",
      "1337",
      "-m",
      "TPROXY",
      "-i",
      "10.96.0.0/12",
      "-x",
      "10.96.0.1/32",
      "-b",
      "9080",
      "-d",
      "15090,15021,9090,15020",
      "-q",
      "3306",
      "-o",
      "5432",
      "-k",
      "net2",
      "-c",
      "net3",
      "--log_output_level=debug",
    ]);
    expect(c.config).toMatchObject({
      inboundInterceptionMode: "TPROXY",
      proxyUid: "1337",
      proxyGid: "1337",
      kubeVirtInterfaces: "net2",
      excludeInterfaces: "net3",
    });
  });

  it("reads ProxyConfig proxyMetadata as istio-init's environment (DNS capture), and host facts from options", () => {
    const c = captureFromPod(pod(), {
      namespace: injected,
      mesh: { proxyMetadata: { ISTIO_META_DNS_CAPTURE: "true" } },
      dnsServers: ["10.96.0.10"],
    });
    expect(c.env).toEqual({ ISTIO_META_DNS_CAPTURE: "true" });
    expect(c.config).toMatchObject({ redirectDns: true, dnsServersV4: ["10.96.0.10"], enableIpv6: false });
    expect(iptablesCapture(c.config).v4).toContain("-d 10.96.0.10/32 -j REDIRECT --to-ports 15053");
    const v6 = captureFromPod({ ...pod(), status: { podIPs: [{ ip: "fd00::7" }] } }, { namespace: injected });
    expect(v6.config?.enableIpv6).toBe(true);
  });

  it.each([
    ["hostNetwork", pod({ hostNetwork: true }), injected, /hostNetwork/],
    [
      "kube-system",
      { ...pod(), metadata: { name: "x", namespace: "kube-system" } },
      ns("kube-system", "enabled"),
      /never injected/,
    ],
    ["namespace not labelled", pod(), ns("bookinfo"), /no webhook selects it/],
    [
      "namespace disabled, pod asks",
      pod({ labels: { "sidecar.istio.io/inject": "true" } }),
      ns("bookinfo", "disabled"),
      /no webhook/,
    ],
    ["pod opts out", pod({ labels: { "sidecar.istio.io/inject": "false" } }), injected, /inject=false/],
    ["annotation opts out", pod({ annotations: { "sidecar.istio.io/inject": "false" } }), injected, /inject=false/],
  ] as const)("not injected: %s", (_n, p, namespace, re) => {
    const c = captureFromPod(p, { namespace });
    expect(c.injected).toBe(false);
    expect(c.reason).toMatch(re);
    expect(c.config).toBeUndefined();
  });

  it("injects a pod that asks by label in an unlabelled namespace; NONE means no istio-init", () => {
    expect(
      captureFromPod(pod({ labels: { "sidecar.istio.io/inject": "true" } }), { namespace: ns("bookinfo") }).injected,
    ).toBe(true);
    const none = captureFromPod(pod({ annotations: { "sidecar.istio.io/interceptionMode": "NONE" } }), {
      namespace: injected,
    });
    expect(none.injected).toBe(true);
    expect(none.config).toBeUndefined();
    expect(none.reason).toMatch(/no istio-init/);
  });

  it("names the annotation a bad value came from", () => {
    const bad = pod({ annotations: { "traffic.sidecar.istio.io/includeOutboundIPRanges": "10.0.0.0/40" } });
    expect(() => captureFromPod(bad, { namespace: injected })).toThrow(
      /bookinfo\/reviews-v1 traffic.sidecar.istio.io\/includeOutboundIPRanges: "10.0.0.0\/40" is not a CIDR/,
    );
    expect(() => captureFromPod(bad, { namespace: injected })).toThrow(MeshError);
  });
});

describe("SPIFFE identities", () => {
  it("formats and parses spiffe://TD/ns/NS/sa/SA", () => {
    expect(spiffeId("default", "default")).toBe("spiffe://cluster.local/ns/default/sa/default");
    expect(parseSpiffeId("spiffe://example.org/ns/shop/sa/cart")).toEqual({
      trustDomain: "example.org",
      namespace: "shop",
      serviceAccount: "cart",
    });
    expect(() => spiffeId("Shop", "x")).toThrow(/namespace/);
    expect(() => parseSpiffeId("spiffe://cluster.local/ns/a")).toThrow(/not of the form/);
  });
});
