#!/bin/bash
# rate.sh ROOT OUT STREAM(0/1) RATE SECONDS [node flags...]: the gateway on core 1 under an even open-loop rate from core 0;
# prints the client's latencies, CPU per request per thread and (unless NOELD=1) event-loop delay and memory every 2 s.
# PRELOAD=1 runs 6 s of closed-loop load first; IDLE=S then leaves the gateway idle S seconds (as the bench does between a target's runs). e.g. NOELD=1 bench/profile/rate.sh $PWD /tmp/r 1 500 6 --trace-gc-nvp
here=$(cd $(dirname "$0") && pwd)
set -u
root=$1; out=$2; stream=$3; rate=$4; secs=$5; shift 5
mkdir -p $out
port=$((20000 + RANDOM % 10000)); gport=$((port+1))
cd $root
MOCK_NO_RECORD=1 taskset -c 0 node dist/bench/mock-upstream.js $port > /dev/null 2>&1 &
mpid=$!
tmp=$(mktemp -d)
printf 'providers:\n  - { name: upstream, type: openai, baseUrl: http://127.0.0.1:%s/v1, apiKey: sk-bench }\nmodels:\n  - name: bench-model\n    deployments: [{ provider: upstream, model: bench-upstream }]\n' $port > $tmp/gw.yaml
eldflag="--import=$tmp/eld.mjs"; [ -n "${NOELD:-}" ] && eldflag="--no-warnings"
cat > $tmp/eld.mjs <<'J'
import { monitorEventLoopDelay } from 'node:perf_hooks'
const h = monitorEventLoopDelay({ resolution: 1 }); h.enable()
setInterval(() => { const m = process.memoryUsage(); process.stderr.write(`ELD p50 ${(h.percentile(50)/1e6).toFixed(2)} p99 ${(h.percentile(99)/1e6).toFixed(2)} max ${(h.max/1e6).toFixed(2)} ms rss ${(m.rss/1048576).toFixed(0)} heap ${(m.heapUsed/1048576).toFixed(0)}\n`); h.reset() }, 2000).unref()
J
(cd $tmp && PORT=$gport HOST=127.0.0.1 DATABASE_URL=file:$tmp/gw.db GATEWAY_CONFIG=$tmp/gw.yaml MASTER_KEY=bench-master-key-0123456789abcdefghijklmnop LOG_LEVEL=warn NODE_ENV=production \
  exec taskset -c 1 node "$@" $eldflag $root/dist/server.js > $out/gw.out 2>$out/eld.err) &
gpid=$!
for i in $(seq 1 150); do curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:$gport/health 2>/dev/null | grep -q 200 && break; sleep 0.2; done
sleep 1
if [ -n "${PRELOAD:-}" ]; then taskset -c 0 $root/node_modules/.bin/autocannon -c 50 -d 6 -m POST -H 'content-type: application/json' -H 'authorization: Bearer bench-master-key-0123456789abcdefghijklmnop' -b '{"model":"bench-model","messages":[{"role":"user","content":"hello"}]}' http://127.0.0.1:$gport/v1/chat/completions > /dev/null 2>&1; echo '--- preload done' >&2; fi
[ -n "${IDLE:-}" ] && { echo "--- idle ${IDLE} s" >&2; sleep $IDLE; }
gp=$gpid
t0=$(awk '{print $14+$15}' /proc/$gpid/stat); for t in /proc/$gpid/task/*; do echo "$(basename $t) $(cat $t/comm) $(awk '{print $14+$15, $14, $15}' $t/stat)"; done > $out/th0
taskset -c 0 node $here/open-loop.mjs http://127.0.0.1:$gport $stream $rate $secs | tee $out/ol.txt
t1=$(awk '{print $14+$15}' /proc/$gpid/stat); for t in /proc/$gpid/task/*; do echo "$(basename $t) $(cat $t/comm) $(awk '{print $14+$15, $14, $15}' $t/stat)"; done > $out/th1; join $out/th0 $out/th1 | awk '$7-$3>0 {print "  thread", $1, $2, $7-$3, "(user", $8-$4, "sys", $9-$5 ")"}'
echo "cpu ticks $((t1-t0)) => µs/req $(( (t1-t0)*10000 / (rate*secs + rate*3/2) ))"
kill $gpid; kill $mpid; sleep 0.5; rm -rf $tmp
tail -4 $out/eld.err
