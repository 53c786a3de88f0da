#!/bin/bash
# survivors.sh ROOT OUT STREAM(0/1) RATE SECONDS: V8 sampling heap profile of the allocations that survive scavenges
# (collected-by-major-GC kept, collected-by-minor dropped) during an even open-loop rate; OUT/alloc.heapprofile,
# summarised by: node bench/profile/heapprof.mjs OUT/alloc.heapprofile
set -u
here=$(cd $(dirname "$0") && pwd)
set -u
root=$1; out=$2; stream=$3; rate=$4; secs=$5; mkdir -p $out
port=$((20000 + RANDOM % 10000)); gport=$((port+1))
cd $root
MOCK_NO_RECORD=1 taskset -c 0 node dist/bench/mock-upstream.js $port > /dev/null 2>&1 &
mpid=$!
tmp=$(mktemp -d)
printf 'providers:\n  - { name: upstream, type: openai, baseUrl: http://127.0.0.1:%s/v1, apiKey: sk-bench }\nmodels:\n  - name: bench-model\n    deployments: [{ provider: upstream, model: bench-upstream }]\n' $port > $tmp/gw.yaml
(cd $tmp && ALLOC_OUT=$out/alloc.heapprofile PORT=$gport HOST=127.0.0.1 DATABASE_URL=file:$tmp/gw.db GATEWAY_CONFIG=$tmp/gw.yaml MASTER_KEY=bench-master-key-0123456789abcdefghijklmnop LOG_LEVEL=warn NODE_ENV=production \
  exec taskset -c 1 node --initial-old-space-size=1000 --trace-gc --import $here/survivors-hook.mjs $root/dist/server.js > $out/gw.out 2>&1) &
gpid=$!
for i in $(seq 1 150); do curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:$gport/health 2>/dev/null | grep -q 200 && break; sleep 0.2; done
taskset -c 0 node $here/open-loop.mjs http://127.0.0.1:$gport $stream $rate 2 > /dev/null
kill -WINCH $gpid; sleep 0.5
taskset -c 0 node $here/open-loop.mjs http://127.0.0.1:$gport $stream $rate $secs
kill -WINCH $gpid; sleep 3
kill $gpid $mpid; rm -rf $tmp
