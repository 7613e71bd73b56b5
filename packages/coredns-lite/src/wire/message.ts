/** DNS messages as plain data: what resolve() returns and what the encoder writes. */

/** One resource record. Names are absolute, written with a trailing dot. */
export type Rr =
  | { readonly name: string; readonly type: 1 | 28; readonly ttl: number; readonly address: string }
  | { readonly name: string; readonly type: 2 | 5 | 12; readonly ttl: number; readonly target: string }
  | {
      readonly name: string;
      readonly type: 33;
      readonly ttl: number;
      readonly priority: number;
      readonly weight: number;
      readonly port: number;
      readonly target: string;
    }
  | { readonly name: string; readonly type: 16; readonly ttl: number; readonly text: readonly string[] }
  | { readonly name: string; readonly type: 13; readonly ttl: number; readonly cpu: string; readonly os: string }
  | {
      readonly name: string;
      readonly type: 6;
      readonly ttl: number;
      readonly mname: string;
      readonly rname: string;
      readonly serial: number;
      readonly refresh: number;
      readonly retry: number;
      readonly expire: number;
      readonly minimum: number;
    }
  | {
      readonly name: string;
      readonly type: 15;
      readonly ttl: number;
      readonly preference: number;
      readonly exchange: string;
    }
  | { readonly name: string; readonly type: number; readonly ttl: number; readonly rdata: Uint8Array };

/** A question: the name as the client wrote it (case kept), its type code and class. */
export interface Question {
  /** Absolute name with trailing dot, case as asked. */
  readonly name: string;
  /** Type code (see `RRType`). */
  readonly type: number;
  /** Class code; 1 = IN. */
  readonly class: number;
}

/** A response as data: rcode, flags and the three record sections. */
export interface DnsResponse {
  /** Response code (`Rcode`). */
  readonly rcode: number;
  /** The AA flag. */
  readonly authoritative: boolean;
  /** The TC flag (set by truncation or copied from an upstream). */
  readonly truncated: boolean;
  /** The RA flag (set by answers that came through `forward`). */
  readonly recursionAvailable?: boolean;
  /** Answer section. */
  readonly answer: readonly Rr[];
  /** Authority section. */
  readonly authority: readonly Rr[];
  /** Additional section (without the OPT record, which the server adds). */
  readonly additional: readonly Rr[];
}

/** An empty response with `rcode`, used for errors and refusals. */
export function emptyResponse(rcode: number, authoritative = false): DnsResponse {
  return { rcode, authoritative, truncated: false, answer: [], authority: [], additional: [] };
}
