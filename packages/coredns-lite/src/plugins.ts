/**
 * The ordered plugin list, as CoreDNS's `plugin.cfg`: a query meets the
 * configured plugins in this order, whatever order the Corefile lists them in.
 */
import type { Plugin } from "./plugin.js";
import { anyPlugin } from "./plugins/any/setup.js";
import { autopathPlugin } from "./plugins/autopath/setup.js";
import { cachePlugin } from "./plugins/cache/setup.js";
import { errorsPlugin } from "./plugins/errors/setup.js";
import { forwardPlugin } from "./plugins/forward/setup.js";
import { healthPlugin } from "./plugins/health/setup.js";
import { kubernetesPlugin } from "./plugins/kubernetes/setup.js";
import { loadbalancePlugin } from "./plugins/loadbalance/setup.js";
import { logPlugin } from "./plugins/log/setup.js";
import { loopPlugin } from "./plugins/loop/setup.js";
import { metricsPlugin } from "./plugins/metrics/setup.js";
import { readyPlugin } from "./plugins/ready/setup.js";
import { reloadPlugin } from "./plugins/reload/setup.js";

/** Every plugin, in request order (reload, ready, health, metrics, errors, log, any, loadbalance, cache, autopath, kubernetes, loop, forward). */
export const plugins: readonly Plugin[] = [
  reloadPlugin,
  readyPlugin,
  healthPlugin,
  metricsPlugin,
  errorsPlugin,
  logPlugin,
  anyPlugin,
  loadbalancePlugin,
  cachePlugin,
  autopathPlugin,
  kubernetesPlugin,
  loopPlugin,
  forwardPlugin,
];
