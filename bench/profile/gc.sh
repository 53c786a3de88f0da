#!/bin/bash
# gc.sh SNAPDIR OUT : --trace-gc + event-loop delay of the gateway under 500 req/s streams (8 s)
set -u
snap=$1; out=$2; mkdir -p $out
cd $snap
port=$((20000 + RANDOM % 10000)); gport=$((port+1))
MOCK_NO_RECORD=1 taskset -c 0 node dist/bench/mock-upstream.js $port > /dev/null 2>&1 &
mpid=$!
tmp=$(mktemp -d)
printf 'providers:\n  - { name: upstream, type: openai, baseUrl: http://127.0.0.1:%s/v1, apiKey: sk-bench }\nmodels:\n  - name: bench-model\n    deployments: [{ provider: upstream, model: bench-upstream }]\n' $port > $tmp/gw.yaml
cat > $tmp/eld.mjs <<'J'
import { monitorEventLoopDelay } from 'node:perf_hooks'
const h = monitorEventLoopDelay({ resolution: 1 }); h.enable()
setInterval(() => { process.stderr.write(`ELD p50 ${(h.percentile(50)/1e6).toFixed(2)} p99 ${(h.percentile(99)/1e6).toFixed(2)} max ${(h.max/1e6).toFixed(2)} ms\n`); h.reset() }, 2000).unref()
J
(cd $tmp && PORT=$gport HOST=127.0.0.1 DATABASE_URL=file:$tmp/gw.db GATEWAY_CONFIG=$tmp/gw.yaml MASTER_KEY=bench-master-key-0123456789abcdefghijklmnop LOG_LEVEL=warn NODE_ENV=production \
  exec taskset -c 1 node --trace-gc --import $tmp/eld.mjs $snap/dist/server.js > $out/gc.out 2>$out/eld.err) &
gpid=$!
for i in $(seq 1 150); do curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:$gport/health 2>/dev/null | grep -q 200 && break; sleep 0.2; done
echo "--- load start" >> $out/gc.out
AC=$snap/node_modules/.bin/autocannon
taskset -c 0 $AC -c 64 -R 500 -d 10 -m POST -H 'content-type: application/json' -H 'authorization: Bearer bench-master-key-0123456789abcdefghijklmnop' -b '{"model":"bench-model","stream":true,"messages":[{"role":"user","content":"hello"}]}' http://127.0.0.1:$gport/v1/chat/completions > $out/ac.txt 2>&1
echo "--- load end" >> $out/gc.out
kill $gpid; kill $mpid; sleep 1; rm -rf $tmp
awk '/--- load start/{on=1} /--- load end/{on=0} on && /Scavenge|Mark-Compact|Mark-sweep/' $out/gc.out > $out/gc-load.txt
echo "scavenges: $(grep -c Scavenge $out/gc-load.txt)  mark-compact: $(grep -ciE 'Mark-Compact|Mark-sweep' $out/gc-load.txt)"
grep Scavenge $out/gc-load.txt | sed -E 's/.*MB, ([0-9.]+) \/.*/\1/' | sort -n | awk '{a[NR]=$1; s+=$1} END {if (NR) printf "scavenge ms: mean %.2f p50 %.2f max %.2f total %.0f\n", s/NR, a[int(NR/2)+1], a[NR], s}'
grep -iE 'Mark-Compact|Mark-sweep' $out/gc-load.txt | head -5
cat $out/eld.err | tail -6
grep -E "Latency|Req/Sec" -A2 $out/ac.txt | head -8
