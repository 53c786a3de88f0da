#!/bin/bash
# per-thread CPU of the gateway over a closed-loop load: threads.sh SNAPDIR [stream]
# FLAGS=... adds node flags; YAML_EXTRA=... is appended to the gateway's YAML (e.g. 'observability: { metrics: { enabled: false } }')
set -u
snap=$1; stream=${2:-}; flags=${FLAGS:-}
cd $snap
port=$((20000 + RANDOM % 10000)); gport=$((port+1))
MOCK_NO_RECORD=1 taskset -c 0 node dist/bench/mock-upstream.js $port > /dev/null 2>&1 &
mpid=$!
tmp=$(mktemp -d)
printf 'providers:\n  - { name: upstream, type: openai, baseUrl: http://127.0.0.1:%s/v1, apiKey: sk-bench }\nmodels:\n  - name: bench-model\n    deployments: [{ provider: upstream, model: bench-upstream }]\n' $port > $tmp/gw.yaml
[ -n "${YAML_EXTRA:-}" ] && printf '%s\n' "$YAML_EXTRA" >> $tmp/gw.yaml
(cd $tmp && PORT=$gport HOST=127.0.0.1 DATABASE_URL=file:$tmp/gw.db GATEWAY_CONFIG=$tmp/gw.yaml MASTER_KEY=bench-master-key-0123456789abcdefghijklmnop LOG_LEVEL=warn NODE_ENV=production \
  exec taskset -c 1 node $flags $snap/dist/server.js > /dev/null 2>$tmp/err) &
gpid=$!
for i in $(seq 1 150); do curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:$gport/health 2>/dev/null | grep -q 200 && break; sleep 0.2; done
snapshot() { for t in /proc/$gpid/task/*; do echo "$(basename $t) $(cat $t/comm) $(awk '{print $14+$15}' $t/stat)"; done; }
body='{"model":"bench-model","messages":[{"role":"user","content":"hello"}]}'
[ -n "$stream" ] && body='{"model":"bench-model","stream":true,"messages":[{"role":"user","content":"hello"}]}'
AC=$snap/node_modules/.bin/autocannon
taskset -c 0 $AC -c 50 -d 2 -m POST -H 'content-type: application/json' -H 'authorization: Bearer bench-master-key-0123456789abcdefghijklmnop' -b "$body" http://127.0.0.1:$gport/v1/chat/completions > /dev/null 2>&1
snapshot > $tmp/a
taskset -c 0 $AC -j -c 50 -d 8 -m POST -H 'content-type: application/json' -H 'authorization: Bearer bench-master-key-0123456789abcdefghijklmnop' -b "$body" http://127.0.0.1:$gport/v1/chat/completions > $tmp/ac.json 2>/dev/null
snapshot > $tmp/b
total=$(node -e "console.log(JSON.parse(require('fs').readFileSync('$tmp/ac.json','utf8')).requests.total)")
echo "requests $total"
join <(sort $tmp/a) <(sort $tmp/b) | awk -v n=$total '{d=$5-$3; if (d>0) printf "%-8s %-16s %6d ticks  %8.1f us/req\n", $1, $2, d, d*10000/n}'
kill $gpid; kill $mpid; sleep 1; rm -rf $tmp
