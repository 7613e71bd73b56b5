/**
 * `@knet/kube-proxy`: The proxy model shared by kube-proxy's engines: service ports, endpoints, endpoint selection, change tracking, chain naming, ProxyEngine and the sync loop.
 *
 * @module
 */
export {};
