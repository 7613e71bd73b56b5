#!/usr/bin/env node
// The knet-host-local CNI plugin. dist/host-local.cjs is the self-contained file to
// copy into a CNI bin directory; this shim only lets the package manager link it.
require("../dist/host-local.cjs");
