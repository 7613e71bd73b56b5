#!/usr/bin/env node
// The `knet` command: the built CLI (dist/ is made by `pnpm build`).
import "../dist/bin.js";
