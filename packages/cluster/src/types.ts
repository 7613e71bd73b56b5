/** The shapes a built cluster is made of: nodes, pods, services, external hosts and user-space proxies. */
import type { Pod, Service } from "@knet/k8s";
import type { ProxyEngine } from "@knet/kube-proxy";
import type { Addr, SocketOwner } from "@knet/netstack";
import type { NodeNet } from "./overlay.js";

/** A pod of the simulated cluster, wired into the dataplane. */
export interface ClusterPod {
  /** `namespace/name`. */
  readonly key: string;
  /** The pod object, with the node, address and Running/Ready status the simulation gave it. */
  readonly pod: Pod;
  /** Node it runs on. */
  readonly node: string;
  /** Its address. */
  readonly ip: Addr;
  /** Its simulated network namespace (`namespace.name`). */
  readonly netns: string;
  /** Host end of its veth pair. */
  readonly hostVeth: string;
}

/** A node of the simulated cluster. */
export interface ClusterNode extends NodeNet {
  /** The node's kube-proxy engine. */
  readonly proxy: ProxyEngine;
  /** The `subnet.env` flannel wrote on it. */
  readonly subnetEnv: string;
}

/** A Service after the API server allocated its addresses and ports. */
export interface ClusterService {
  /** `namespace/name`. */
  readonly key: string;
  /** The Service object, defaulted, with clusterIP and nodePorts filled in. */
  readonly service: Service;
}

/** A host outside the cluster, on the node network (a client, a load balancer). */
export interface ExternalHost {
  /** Its name (also its namespace in the dataplane). */
  readonly name: string;
  /** Its address on the node network. */
  readonly ip: Addr;
  /** Its namespace in the dataplane. */
  readonly netns: string;
  /** Names it resolves (its /etc/hosts): it cannot use cluster DNS. */
  readonly hosts: Readonly<Record<string, string>>;
}

/** An HTTP request a trace carries (for proxies that route on it). */
export interface HttpRequest {
  /** Method (default GET). */
  readonly method: string;
  /** Path and query (default `/`). */
  readonly path: string;
  /** Headers, lower-case names; `host` defaults to the target's host[:port]. */
  readonly headers: Readonly<Record<string, string>>;
}

/** What a user-space proxy is given for each connection it accepts. */
export interface ProxiedRequest {
  /** The HTTP request, when the trace carries one. */
  readonly http: HttpRequest | undefined;
  /** The client's address and port as the proxy sees them. */
  readonly client: { readonly ip: string; readonly port: number };
  /** The address and port it was accepted on. */
  readonly local: { readonly ip: string; readonly port: number };
  /**
   * Where the client connected before NAT in the proxy's namespace redirected it
   * (`SO_ORIGINAL_DST`, from the conntrack entry); `local` when nothing did.
   */
  readonly originalDst: { readonly ip: string; readonly port: number };
  /** The identity the client presented when it opened this connection with TLS (a sidecar's mTLS); none for plaintext. */
  readonly tls: { readonly peerIdentity: string } | undefined;
}

/** What a user-space proxy does with a connection: open another one, or answer itself. */
export type ProxyForward =
  | {
      /** Open a connection to `to` (a URL or `host:port`) and pass the request on. */
      readonly kind: "forward";
      /** Where. */
      readonly to: string;
      /** The request as passed on (headers added, path rewritten...); default unchanged. */
      readonly http?: HttpRequest;
      /** Why (the route that matched), for the trace. */
      readonly note?: string;
      /** The UID/GID owning the proxy's onward socket (a sidecar's own traffic, which its capture rules skip). */
      readonly owner?: SocketOwner;
      /** The source address the onward socket binds (a sidecar connects to its app from 127.0.0.6). */
      readonly source?: string;
      /** The onward connection is TLS presenting this identity (a sidecar's mTLS); its receiver sees it in `tls`. */
      readonly tls?: { readonly identity: string };
    }
  | {
      /** Close the connection without passing it on (a TLS handshake or peer authentication refused it). */
      readonly kind: "reset";
      /** Why, for the trace. */
      readonly note?: string;
    }
  | {
      /** Answer the client itself (a redirect, a 404 when no route matches). */
      readonly kind: "respond";
      /** HTTP status. */
      readonly status: number;
      /** Why, for the trace. */
      readonly note?: string;
    };

/** A user-space proxy (a gateway, a sidecar): accepts TCP connections in a namespace and opens others. */
export interface UserspaceProxy {
  /** Name, for traces (`gateway shop/web`). */
  readonly name: string;
  /** The namespace it listens in (a pod's netns, a node, an external host). */
  readonly netns: string;
  /** TCP port it accepts on. */
  readonly port: number;
  /** Decide what to do with one accepted connection. */
  forward(request: ProxiedRequest): ProxyForward;
}
