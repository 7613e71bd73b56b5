import { readFileSync } from "node:fs";
import { buildGatewayModel, type GatewayModel, type GatewayModelOptions, loadGatewayInputs } from "../src/index.js";

/** The conformance data directory (verbatim copies of kubernetes-sigs/gateway-api conformance manifests). */
export const CONFORMANCE_DIR = new URL("./fixtures/conformance", import.meta.url).pathname;

/** knet's GatewayClass, named as the conformance manifests' `{GATEWAY_CLASS_NAME}` placeholder is replaced. */
export const KNET_CLASS = `apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata:
  name: knet
spec:
  controllerName: knet.dev/gateway-controller
`;

/** Read a conformance manifest with the class placeholder filled in. */
export function conformanceText(rel: string): string {
  return readFileSync(`${CONFORMANCE_DIR}/${rel}`, "utf8").replaceAll("{GATEWAY_CLASS_NAME}", "knet");
}

/** Build a model from YAML texts. */
export function modelOf(texts: readonly string[], options: GatewayModelOptions = {}): GatewayModel {
  const { inputs } = loadGatewayInputs(texts.map((text, i) => ({ name: `doc${i}.yaml`, text })));
  return buildGatewayModel(inputs, options);
}

/** A model of the conformance base manifests plus one test's manifests. */
export function conformanceModel(test: string, extra: readonly string[] = []): GatewayModel {
  return modelOf([KNET_CLASS, conformanceText("base/manifests.yaml"), conformanceText(`tests/${test}.yaml`), ...extra]);
}
