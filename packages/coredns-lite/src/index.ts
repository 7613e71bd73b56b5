/**
 * `@knet/coredns-lite`: cluster DNS per the Kubernetes DNS specification: a
 * record index fed by Services, EndpointSlices and Pods, a pure `resolve()`, a
 * CoreDNS-like plugin chain, a UDP/TCP server, and the pod resolver side
 * (resolv.conf per dnsPolicy, search-list expansion).
 *
 * @example
 * ```ts
 * import { DnsIndex, DnsServer, resolve } from "@knet/coredns-lite";
 *
 * const index = DnsIndex.from(objects); // Services, EndpointSlices, Pods, Namespaces
 * resolve(index, { name: "svc1.testns.svc.cluster.local", type: "A" }).answer;
 * const server = new DnsServer({ index, listen: { host: "127.0.0.1", port: 0 } });
 * await server.start(); // dig @127.0.0.1 -p <server.address().port> ...
 * ```
 *
 * @module
 */
export type { ServerBlock } from "./config.js";
export { parseCorefile } from "./config.js";
export type {
  ClusterEndpointView,
  DnsIndexOptions,
  EndpointView,
  IndexedObject,
  PodView,
  PortView,
  ServiceImport,
  ServiceImportView,
  ServiceView,
} from "./index/dns-index.js";
export { DnsIndex } from "./index/dns-index.js";
export { registerServiceImport, SERVICE_IMPORT_KIND } from "./index/service-import.js";
export { watchClusterState } from "./index/watch.js";
export type {
  ChainContext,
  Clock,
  Directive,
  DnsRequest,
  Handler,
  Next,
  Plugin,
  PluginInstance,
  Random,
  ServerContext,
  SetupEnv,
} from "./plugin.js";
export { ConfigError } from "./plugin.js";
export type { CacheLimits, CacheOptions } from "./plugins/cache/cache.js";
export { DEFAULT_CACHE_OPTIONS, ResponseCache } from "./plugins/cache/cache.js";
export { addressFromReverse, endpointName, reverseName } from "./plugins/kubernetes/lookup.js";
export type { KubernetesOptions, PodMode } from "./plugins/kubernetes/options.js";
export { roundRobin } from "./plugins/loadbalance/setup.js";
export type { MetricFamily } from "./plugins/metrics/registry.js";
export { Counter, Gauge, Histogram, labels, MetricsRegistry } from "./plugins/metrics/registry.js";
export { plugins } from "./plugins.js";
export type { CandidateOutcome, ResolverFlavour, WalkResult } from "./pod/expand-query.js";
export { expandQuery, explainSearch, ndotsOf, walkSearch } from "./pod/expand-query.js";
export type { ClusterDnsConfig, PodResolvConf, ResolvConf, ResolvOption } from "./pod/resolv-conf.js";
export {
  fitSearchLimits,
  formatResolvConf,
  parseResolvConf,
  RESOLV_LIMITS,
  ResolvConfError,
  resolvConfFor,
} from "./pod/resolv-conf.js";
export { seededRandom } from "./random.js";
export type { DnsQuery, ResolveOptions } from "./resolve.js";
export { anyAnswer, resolve } from "./resolve.js";
export type { DnsServerOptions, ListenOptions, TcpStats } from "./server/dns-server.js";
export { DnsServer, defaultCorefile, FatalError } from "./server/dns-server.js";
export { Rcode, RRType, rcodeName, typeCode, typeName } from "./wire/constants.js";
export type { DecodedMessage, ParsedQuery } from "./wire/decode.js";
export { DecodeError, decodeMessage, encodeQuery, parseQuery } from "./wire/decode.js";
export type { EncodeOptions, OptRecord } from "./wire/encode.js";
export { encodeResponse, Flag } from "./wire/encode.js";
export { formatRdata, formatResponse, formatRr } from "./wire/format.js";
export type { DnsResponse, Question, Rr } from "./wire/message.js";
export { emptyResponse } from "./wire/message.js";
export { NameError } from "./wire/name.js";
