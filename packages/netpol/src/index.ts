/**
 * `@knet/netpol`: NetworkPolicy and Admin/Baseline policy verdicts with reasons, reachability matrices, and compilation to an nftables ruleset.
 *
 * @module
 */
export {};
