/** Numeric verdict codes shared by the ruleset, the interpreter and the generated code. */
import type { NftVerdict } from "./types.js";

/** Statement/chain results shared by the interpreter and the generated code. */
export const V = {
  NEXT: 0,
  NOMATCH: 1,
  ACCEPT: 2,
  DROP: 3,
  REJECT: 4,
  RETURN: 5,
  JUMP: 6,
  GOTO: 7,
  CONT: 8,
} as const;

/** Numeric code of a verdict (`NEXT` for `continue`). */
export function verdictNumber(v: NftVerdict): number {
  switch (v.kind) {
    case "accept":
      return V.ACCEPT;
    case "drop":
      return V.DROP;
    case "return":
      return V.RETURN;
    case "continue":
      return V.NEXT;
    case "jump":
      return V.JUMP;
    case "goto":
      return V.GOTO;
  }
}
