#!/bin/sh
# `npm start`: runs the built gateway (dist/server.js) with the Node flags
# lib/runtime/node-flags.ts picks for the CPUs this process may use, and
# MALLOC_ARENA_MAX=2 unless already set. `exec`
# replaces this shell, so the gateway keeps its process id and gets signals
# directly; no parent process stays behind. To choose the flags yourself, run
# `node [flags] dist/server.js` instead.
set -e
root=$(cd "$(dirname "$0")/.." && pwd)
flags=$(node "$root/dist/scripts/node-flags.js")
# Fewer malloc arenas (glibc): ~25 MB less resident memory; see GATEWAY_ENV_DEFAULTS.
MALLOC_ARENA_MAX="${MALLOC_ARENA_MAX:-2}"
export MALLOC_ARENA_MAX
# $flags is unquoted on purpose: zero or more words.
exec node $flags "$root/dist/server.js"
