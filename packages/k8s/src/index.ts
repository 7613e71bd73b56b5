/**
 * `@knet/k8s`: Kubernetes networking objects: shapes, API-server defaulting and validation, label selectors, manifest loading and the EndpointSlice controller.
 *
 * @module
 */
export {};
