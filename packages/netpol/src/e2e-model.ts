/**
 * The upstream conformance model (kubernetes test/e2e/network/netpol): namespaces
 * x, y, z; pods a, b, c labelled `pod=<name>`; one container port per
 * (port, protocol) named `serve-<port>-<proto>`; and the expectation builder
 * the upstream tests write their truth tables with.
 */
import type { Namespace, Pod } from "@knet/k8s";
import type { PolicyProtocol } from "./types.js";

/** Options of {@link e2eModel}. */
export interface E2eModelOptions {
  /** Namespace names; default `["x", "y", "z"]`. */
  readonly namespaces?: readonly string[];
  /** Pod names in every namespace; default `["a", "b", "c"]`. */
  readonly pods?: readonly string[];
  /** Served ports; default `[80, 81]`. */
  readonly ports?: readonly number[];
  /** Served protocols; default TCP, UDP and SCTP. */
  readonly protocols?: readonly PolicyProtocol[];
  /**
   * The IP of the pod at (namespace index, pod index); default
   * `10.77.<10*ns + pod + 1>.2`, one /24 per pod so a router can reach each.
   */
  readonly podIP?: (nsIndex: number, podIndex: number) => string;
}

/** The model's objects. */
export interface E2eModel {
  /** Namespaces, labelled `ns=<name>` (older e2e) and `kubernetes.io/metadata.name=<name>`. */
  readonly namespaces: Namespace[];
  /** Pods, sorted by namespace then name. */
  readonly pods: Pod[];
  /** `ns/pod` keys in the same order. */
  readonly keys: string[];
}

/** The default pod IP of the model: `10.77.<10*ns + pod + 1>.2`. */
export function e2ePodIP(nsIndex: number, podIndex: number): string {
  return `10.77.${nsIndex * 10 + podIndex + 1}.2`;
}

/** Build the upstream e2e model's namespaces and pods. */
export function e2eModel(options: E2eModelOptions = {}): E2eModel {
  const nss = options.namespaces ?? ["x", "y", "z"];
  const podNames = options.pods ?? ["a", "b", "c"];
  const ports = options.ports ?? [80, 81];
  const protocols = options.protocols ?? ["TCP", "UDP", "SCTP"];
  const ipOf = options.podIP ?? e2ePodIP;
  const namespaces: Namespace[] = nss.map((n) => ({
    apiVersion: "v1",
    kind: "Namespace",
    metadata: { name: n, labels: { ns: n, "kubernetes.io/metadata.name": n } },
  }));
  const pods: Pod[] = [];
  const keys: string[] = [];
  [...nss].forEach((ns, ni) => {
    podNames.forEach((name, pi) => {
      const ip = ipOf(ni, pi);
      pods.push({
        apiVersion: "v1",
        kind: "Pod",
        metadata: { namespace: ns, name, labels: { pod: name } },
        spec: {
          containers: ports.flatMap((port) =>
            protocols.map((proto) => ({
              name: `cont-${port}-${proto.toLowerCase()}`,
              image: "registry.k8s.io/e2e-test-images/agnhost:2.53",
              ports: [{ name: `serve-${port}-${proto.toLowerCase()}`, containerPort: port, protocol: proto }],
            })),
          ),
        },
        status: { podIP: ip, podIPs: [{ ip }], phase: "Running" },
      });
      keys.push(`${ns}/${name}`);
    });
  });
  const order = keys.map((k, i) => [k, i] as const).sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  return { namespaces, pods: order.map(([, i]) => pods[i] as Pod), keys: order.map(([k]) => k) };
}

/** A peer pattern of {@link ExpectedReachability.expectPeer}: an absent field is a wildcard. */
export interface PeerPattern {
  /** Namespace name, or any. */
  readonly namespace?: string;
  /** Pod name, or any. */
  readonly pod?: string;
}

/**
 * The upstream `Reachability` expectation builder: starts all-allowed (or
 * all-denied) and is edited in order, later calls overwriting earlier ones.
 * Loopback cells are always allowed in {@link ExpectedReachability.matrix}, as
 * upstream ignores them.
 */
export class ExpectedReachability {
  /** Pods (`ns/name`), in matrix order. */
  readonly pods: readonly string[];
  private readonly cells: boolean[][];

  constructor(pods: readonly string[], allowed = true) {
    this.pods = [...pods];
    this.cells = this.pods.map(() => this.pods.map(() => allowed));
  }

  private idx(pod: string): number {
    const i = this.pods.indexOf(pod);
    if (i < 0) throw new RangeError(`unknown pod ${pod}`);
    return i;
  }

  /** One cell. */
  expect(from: string, to: string, allowed: boolean): this {
    (this.cells[this.idx(from)] as boolean[])[this.idx(to)] = allowed;
    return this;
  }

  /** Every cell whose client and server match the patterns. */
  expectPeer(from: PeerPattern, to: PeerPattern, allowed: boolean): this {
    const match = (key: string, p: PeerPattern): boolean => {
      const [ns, pod] = key.split("/");
      return (p.namespace === undefined || p.namespace === ns) && (p.pod === undefined || p.pod === pod);
    };
    this.pods.forEach((f, i) => {
      this.pods.forEach((t, j) => {
        if (match(f, from) && match(t, to)) (this.cells[i] as boolean[])[j] = allowed;
      });
    });
    return this;
  }

  /** A column: everything into `pod`. */
  expectAllIngress(pod: string, allowed: boolean): this {
    const j = this.idx(pod);
    for (const row of this.cells) row[j] = allowed;
    return this;
  }

  /** A row: everything out of `pod`. */
  expectAllEgress(pod: string, allowed: boolean): this {
    const i = this.idx(pod);
    (this.cells[i] as boolean[]).fill(allowed);
    return this;
  }

  /** The matrix, loopback cells allowed. */
  matrix(): boolean[][] {
    return this.cells.map((row, i) => row.map((v, j) => (i === j ? true : v)));
  }
}
