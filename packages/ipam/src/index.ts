/**
 * `@knet/ipam`: address allocation as the real components do it.
 *
 * - host-local compatible range sets, allocator and stores ({@link MemoryStore},
 *   {@link DiskStore} in host-local's on-disk layout with a real flock), and the
 *   host-local verbs ({@link hostLocalAdd}, {@link hostLocalDel}, {@link hostLocalCheck}).
 *
 * @example
 * ```ts
 * import { hostLocalAdd, loadHostLocalConfig, MemoryStore } from "@knet/ipam";
 *
 * const config = loadHostLocalConfig({
 *   cniVersion: "1.0.0",
 *   name: "pods",
 *   ipam: { type: "host-local", ranges: [[{ subnet: "10.244.1.0/24" }], [{ subnet: "fd00:1::/64" }]] },
 * });
 * const store = new MemoryStore();
 * hostLocalAdd(config, { containerId: "c1", ifname: "eth0" }, store).ips;
 * // [{ address: "10.244.1.2/24", gateway: "10.244.1.1" }, { address: "fd00:1::2/64", gateway: "fd00:1::1" }]
 * ```
 *
 * - Kubernetes control-plane allocators: {@link ServiceIpAllocator} /
 *   {@link DualStackServiceIpAllocator} (ClusterIPs, kube-apiserver's bitmap with
 *   a static band), {@link NodePortAllocator}, {@link NodeCidrAllocator} and
 *   {@link CidrSet} (kube-controller-manager pod CIDRs), and a Calico-style
 *   {@link BlockAllocator} (/26 blocks with node affinity and borrowing).
 * - {@link hostLocal}: the CNI plugin (also shipped as the `knet-host-local` executable).
 *
 * @module
 */
export { BandAllocator } from "./band-allocator.js";
export { Bitmap, staticBandSize } from "./bitmap.js";
export type { BlockAllocation, BlockAllocatorOptions } from "./block-allocator.js";
export { BlockAllocator } from "./block-allocator.js";
export { CidrSet, NO_CIDRS_REMAINING } from "./cidr-set.js";
export type { DiskStoreOptions } from "./disk-store.js";
export { DiskStore, isRecordName } from "./disk-store.js";
export { IpamError } from "./errors.js";
export type { FileLockOptions } from "./file-lock.js";
export { FileLock } from "./file-lock.js";
export type { Attachment, HostLocalResult, ResultDns } from "./host-local.js";
export { hostLocalAdd, hostLocalCheck, hostLocalDel, hostLocalGc, parseResolvConf } from "./host-local.js";
export type { HostLocalConfig, HostLocalRoute } from "./host-local-config.js";
export { DEFAULT_DATA_DIR, loadHostLocalConfig, parseHostLocalCniArgs } from "./host-local-config.js";
export type { HostLocalPluginOptions } from "./host-local-plugin.js";
export { hostLocal, memoryStores } from "./host-local-plugin.js";
export type { IpRange, RangeConfig, RangeSet } from "./ip-range.js";
export {
  canonicalizeRange,
  canonicalizeRangeSet,
  parseIp,
  rangeContains,
  rangeFor,
  rangeSetToString,
  rangeToString,
} from "./ip-range.js";
export { MemoryStore } from "./memory-store.js";
export { validateContainerId, validateIfName, validateNetworkName } from "./names.js";
export type { NodeCidrAllocatorOptions } from "./node-cidr-allocator.js";
export { NodeCidrAllocator } from "./node-cidr-allocator.js";
export type { NodePortAllocatorOptions } from "./node-port-allocator.js";
export { DEFAULT_NODE_PORT_RANGE, NodePortAllocator } from "./node-port-allocator.js";
export type { Random } from "./random.js";
export { mathRandom, seededRandom } from "./random.js";
export type { IpAllocation } from "./range-allocator.js";
export { candidateOrder, RangeAllocator } from "./range-allocator.js";
export type { ServiceIpAllocatorOptions } from "./service-ip-allocator.js";
export { DualStackServiceIpAllocator, ServiceIpAllocator } from "./service-ip-allocator.js";
export type { IpamStore, Reservation } from "./store.js";
