// Prints, space separated, what scripts/start.sh runs before dist/server.js:
// `NAME=value` environment defaults this process does not set, `node`, and the
// Node flags for the CPUs it may use. See lib/runtime/node-flags.ts.
import { availableParallelism } from 'node:os'
import { launchWords } from '../lib/runtime/node-flags.js'

process.stdout.write(launchWords(availableParallelism(), process.env).join(' '))
