/**
 * `@knet/cluster`: A simulated Kubernetes cluster composed from the knet packages, with end-to-end request traces.
 *
 * @module
 */
export {};
