/** Builds the handler chain of one server block from its directives, in plugin-list order. */
import type { ServerBlock } from "../config.js";
import {
  type ChainContext,
  ConfigError,
  type DnsRequest,
  type Handler,
  type Next,
  type PluginInstance,
  type SetupEnv,
} from "../plugin.js";
import { plugins } from "../plugins.js";
import { Rcode } from "../wire/constants.js";
import { type DnsResponse, emptyResponse } from "../wire/message.js";

/** A built chain: the entry point and the configured instances. */
export interface Chain {
  /** Run a request through every handler. */
  readonly entry: Next;
  /** Configured plugin instances by directive name. */
  readonly instances: ReadonlyMap<string, PluginInstance>;
  /** True when every handler is {@link Handler.pure}, so replayed answers skip nothing observable. */
  readonly pure: boolean;
}

/** Directives the server itself handles (not plugins). */
export const SERVER_DIRECTIVES: ReadonlySet<string> = new Set(["bind"]);

/** Build the chain; unknown or repeated directives are errors. */
export function buildChain(block: ServerBlock, env: SetupEnv, ctxLookup: ChainContext["lookup"]): Chain {
  const byName = new Map<string, (typeof block.directives)[number]>();
  for (const d of block.directives) {
    if (SERVER_DIRECTIVES.has(d.name)) continue;
    const plugin = plugins.find((p) => p.name === d.name || p.aliases?.includes(d.name));
    if (plugin === undefined) {
      throw new ConfigError(
        `unknown directive "${d.name}" (known: ${plugins.map((p) => p.name).join(", ")}, bind)`,
        d.line,
      );
    }
    if (byName.has(plugin.name)) throw new ConfigError(`"${d.name}" is given twice`, d.line);
    byName.set(plugin.name, d);
  }
  const instances = new Map<string, PluginInstance>();
  const handlers: Handler[] = [];
  for (const p of plugins) {
    const d = byName.get(p.name);
    if (d === undefined) continue;
    const inst = p.setup(d, env);
    instances.set(p.name, inst);
    if (inst.handler !== undefined) handlers.push(inst.handler);
  }
  const ctx: ChainContext = { lookup: ctxLookup };
  const terminal: Next = () => emptyResponse(Rcode.SERVFAIL);
  let entry: Next = terminal;
  for (let i = handlers.length - 1; i >= 0; i--) {
    const h = handlers[i] as Handler;
    const next = entry;
    entry = (req: DnsRequest): DnsResponse | Promise<DnsResponse> => h.serveDNS(req, next, ctx);
  }
  return { entry, instances, pure: handlers.every((h) => h.pure === true) };
}
