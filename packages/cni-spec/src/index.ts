/**
 * `@knet/cni-spec`: The CNI specification: config and result types for every version, conversion, errors, a plugin skeleton and a libcni-like runtime.
 *
 * @module
 */
export {};
