// Prints the Node flags for the gateway on this process's CPUs, space
// separated (empty when none); used by scripts/start.sh. See lib/runtime/node-flags.ts.
import { availableParallelism } from 'node:os'
import { gatewayNodeFlags } from '../lib/runtime/node-flags.js'

process.stdout.write(gatewayNodeFlags(availableParallelism()).join(' '))
