/** The istio-init arguments istiod writes for a pod with the default mesh config (one home for the kernel, evaluator and injector tests). */
export const DEFAULT_POD_INIT_ARGS: readonly string[] = [
  "-p",
  "15001",
  "-z",
  "15006",
  "-u",
  "1337",
  "-m",
  "REDIRECT",
  "-i",
  "*",
  "-x",
  "",
  "-b",
  "*",
  "-d",
  "15090,15021,15020",
];
