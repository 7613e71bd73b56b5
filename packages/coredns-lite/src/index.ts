/**
 * `@knet/coredns-lite`: Cluster DNS per the Kubernetes DNS specification: record index, resolve(), a CoreDNS-like plugin chain, a UDP/TCP server and the pod resolver side.
 *
 * @module
 */
export {};
