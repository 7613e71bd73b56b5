import type { Io } from "@knet/cli";

/** An `Io` that keeps what a command writes, for assertions. */
export function capture(): { io: Io; out: () => string; err: () => string } {
  let o = "";
  let e = "";
  return {
    io: {
      out: (t: string) => {
        o += t;
      },
      err: (t: string) => {
        e += t;
      },
    },
    out: () => o,
    err: () => e,
  };
}
