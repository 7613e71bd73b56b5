/** Small field validators that name the bad field (`ips[0].address`) in their error. */
import { Addr, Prefix } from "@knet/netstack";
import { CniError } from "../errors.js";

/** A plain JSON object. */
export type Json = Record<string, unknown>;

/** Type name of a JSON value for messages. */
export function kind(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "array";
  return typeof v;
}

/** Fails with `code` naming `path`. */
export function fail(code: number, path: string, what: string): never {
  throw new CniError(code, `${path}: ${what}`, "", path);
}

/** Require a JSON object. */
export function obj(v: unknown, path: string, code: number): Json {
  if (typeof v !== "object" || v === null || Array.isArray(v)) fail(code, path, `must be an object, got ${kind(v)}`);
  return v as Json;
}

/** Require an array. */
export function arr(v: unknown, path: string, code: number): unknown[] {
  if (!Array.isArray(v)) fail(code, path, `must be an array, got ${kind(v)}`);
  return v;
}

/** Require a string. */
export function str(v: unknown, path: string, code: number): string {
  if (typeof v !== "string") fail(code, path, `must be a string, got ${kind(v)}`);
  return v;
}

/** An optional string (undefined when absent or null). */
export function optStr(v: unknown, path: string, code: number): string | undefined {
  return v === undefined || v === null ? undefined : str(v, path, code);
}

/** An optional non-negative integer. */
export function optInt(v: unknown, path: string, code: number): number | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "number" || !Number.isInteger(v)) fail(code, path, `must be an integer, got ${JSON.stringify(v)}`);
  return v;
}

/** An optional list of strings. */
export function optStrList(v: unknown, path: string, code: number): string[] | undefined {
  if (v === undefined || v === null) return undefined;
  return arr(v, path, code).map((x, i) => str(x, `${path}[${i}]`, code));
}

/** An IP address (`10.0.0.1`, `fd00::1`); returns the parsed address. */
export function ip(v: unknown, path: string, code: number): Addr {
  const s = str(v, path, code);
  try {
    return Addr.parse(s);
  } catch {
    return fail(code, path, `invalid IP address ${JSON.stringify(s)}`);
  }
}

/** An interface address with prefix (`10.1.0.5/16`, host bits allowed). */
export function ipNet(v: unknown, path: string, code: number): { addr: Addr; prefix: Prefix } {
  const s = str(v, path, code);
  const slash = s.indexOf("/");
  try {
    if (slash < 0) throw new Error("missing /");
    const addr = Addr.parse(s.slice(0, slash));
    return { addr, prefix: Prefix.parse(s, { mask: true }) };
  } catch {
    return fail(code, path, `invalid CIDR address ${JSON.stringify(s)}`);
  }
}

/** A CIDR prefix (`0.0.0.0/0`; host bits allowed, as Go's ParseCIDR accepts them). */
export function cidr(v: unknown, path: string, code: number): Prefix {
  return ipNet(v, path, code).prefix;
}

/** `T` with every property that may be undefined turned into an optional one. */
export type Compacted<T> = {
  [K in keyof T as undefined extends T[K] ? never : K]: T[K];
} & {
  [K in keyof T as undefined extends T[K] ? K : never]?: Exclude<T[K], undefined>;
};

/** Copy `src` into a new object without the keys whose value is undefined. */
export function compact<T extends object>(src: T): Compacted<T> {
  const out: Json = {};
  for (const [k, v] of Object.entries(src)) if (v !== undefined) out[k] = v;
  return out as Compacted<T>;
}
