/**
 * NetworkAttachmentDefinition (`k8s.cni.cncf.io/v1`, de-facto standard v1.2,
 * section 3) as a kind of the `@knet/k8s` registry: manifests carrying it load
 * and validate. `spec.config` is the CNI configuration (a single plugin config or
 * a conflist) as a JSON string; absent or `""` means Multus looks for a file
 * named after the object in its CNI configuration directory.
 */
import { parseNetworkConfig } from "@knet/cni-spec";
import { type ExtensionObject, type KindDefinition, type KindProblem, registerKind } from "@knet/k8s";

/** A NetworkAttachmentDefinition as loaded. */
export interface NetworkAttachmentDefinition extends ExtensionObject {
  /** The specification. */
  readonly spec?: {
    /** CNI configuration JSON (config or conflist); absent: a file named after the object. */
    readonly config?: string;
  };
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

function shape(o: Readonly<Record<string, unknown>>): KindProblem[] {
  const spec = o.spec;
  if (!isRecord(spec) || spec.config === undefined || typeof spec.config === "string") return [];
  return [{ code: "shape", field: "spec.config", message: "must be a string holding the CNI configuration JSON" }];
}

function validate(o: NetworkAttachmentDefinition): KindProblem[] {
  const config = o.spec?.config ?? "";
  if (config === "") return [];
  try {
    parseNetworkConfig(config);
    return [];
  } catch (e) {
    return [
      {
        code: "invalid",
        field: "spec.config",
        message: `is not a valid CNI configuration or configuration list: ${(e as Error).message}`,
      },
    ];
  }
}

/** The registry definition of NetworkAttachmentDefinition. */
export const NETWORK_ATTACHMENT_DEFINITION_KIND: KindDefinition = {
  apiVersion: "k8s.cni.cncf.io/v1",
  kind: "NetworkAttachmentDefinition",
  namespaced: true,
  shape,
  validate: (o) => validate(o as NetworkAttachmentDefinition),
};

/** Register NetworkAttachmentDefinition with the `@knet/k8s` kind registry (again is a no-op). */
export function registerNetworkAttachmentDefinition(): void {
  registerKind(NETWORK_ATTACHMENT_DEFINITION_KIND);
}
