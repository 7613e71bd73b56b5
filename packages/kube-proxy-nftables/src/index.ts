/**
 * `@knet/kube-proxy-nftables`: kube-proxy's nftables mode: the kube-proxy table, incremental transactions, an nft parser and an O(1) evaluator.
 *
 * @module
 */
export {};
