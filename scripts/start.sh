#!/bin/sh
# `npm start`: runs the built gateway (dist/server.js) with the environment
# defaults (MALLOC_ARENA_MAX=2 unless set) and Node flags (--single-threaded-gc
# on one CPU) that lib/runtime/node-flags.ts picks. `exec env` replaces this
# shell with node, so the gateway keeps its process id and gets signals
# directly; no parent process stays behind. To choose the flags yourself, run
# `node [flags] dist/server.js` instead.
set -e
root=$(cd "$(dirname "$0")/.." && pwd)
launch=$(node "$root/dist/scripts/node-flags.js")
# $launch is unquoted on purpose: `[NAME=value ...] node [flag ...]`, words without spaces.
exec env $launch "$root/dist/server.js"
