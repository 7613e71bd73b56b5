/**
 * `CNI_ARGS`: `K1=V1;K2=V2` pairs (deprecated in favour of the config's `args`
 * but still used, e.g. `IP=` for host-local and `IgnoreUnknown=1`).
 */
import { CniError, ErrorCode } from "./errors.js";
import { goQuoteList } from "./version.js";

/**
 * Split CNI_ARGS into pairs. Each part must be exactly `K=V` (a second `=` is
 * invalid, as in libcni).
 * @throws CniError (999, as a Go plugin reports it) `ARGS: invalid pair "X"` (libcni's text).
 */
export function parseCniArgs(text: string): [string, string][] {
  if (text === "") return [];
  return text.split(";").map((pair): [string, string] => {
    const kv = pair.split("=");
    if (kv.length !== 2) throw new CniError(ErrorCode.Internal, `ARGS: invalid pair ${JSON.stringify(pair)}`);
    return [kv[0] as string, kv[1] as string];
  });
}

/** Join pairs into CNI_ARGS text. */
export function formatCniArgs(pairs: readonly (readonly [string, string])[]): string {
  return pairs.map(([k, v]) => `${k}=${v}`).join(";");
}

/**
 * libcni's `LoadArgs` for a plugin that knows `known` keys (matched
 * case-sensitively, like Go struct field names): returns the known values;
 * unknown keys are an error unless `IgnoreUnknown` is `1`/`true` (any case).
 * @throws CniError (999) with libcni's texts: `ARGS: invalid pair "X"`, `ARGS: unknown args ["K=V"]`.
 */
export function loadCniArgs(text: string, known: readonly string[]): Map<string, string> {
  const out = new Map<string, string>();
  const unknown: string[] = [];
  let ignoreUnknown = false;
  for (const [k, v] of parseCniArgs(text)) {
    if (k === "IgnoreUnknown") {
      const lv = v.toLowerCase();
      if (lv === "1" || lv === "true") ignoreUnknown = true;
      else if (lv === "0" || lv === "false") ignoreUnknown = false;
      else
        throw new CniError(
          ErrorCode.Internal,
          `ARGS: error parsing value of pair "${k}=${v}": boolean unmarshal error: invalid input ${v}`,
        );
      continue;
    }
    if (known.includes(k)) out.set(k, v);
    else unknown.push(`${k}=${v}`);
  }
  if (unknown.length > 0 && !ignoreUnknown)
    throw new CniError(ErrorCode.Internal, `ARGS: unknown args ${goQuoteList(unknown)}`);
  return out;
}
