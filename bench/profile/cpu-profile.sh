#!/bin/bash
# usage: run.sh SNAPDIR OUTDIR [extra node flags...]  -- profile the gateway under closed-loop load (non-stream 8 s, stream 8 s)
set -u
snap=$1; out=$2; shift 2
mkdir -p $out; rm -f $out/*.cpuprofile
cd $snap
port=$((20000 + RANDOM % 10000)); gport=$((port+1))
MOCK_NO_RECORD=1 taskset -c 0 node dist/bench/mock-upstream.js $port > $out/mock.out 2>&1 &
mpid=$!
tmp=$(mktemp -d)
cat > $tmp/gw.yaml <<Y
providers:
  - { name: upstream, type: openai, baseUrl: http://127.0.0.1:$port/v1, apiKey: sk-bench }
models:
  - name: bench-model
    deployments: [{ provider: upstream, model: bench-upstream }]
Y
(cd $tmp && PORT=$gport HOST=127.0.0.1 DATABASE_URL=file:$tmp/gw.db GATEWAY_CONFIG=$tmp/gw.yaml MASTER_KEY=bench-master-key-0123456789abcdefghijklmnop LOG_LEVEL=warn NODE_ENV=production SHUTDOWN_GRACE_MS=2000 \
  taskset -c 1 node "$@" $snap/dist/server.js > $out/gw.out 2> $out/gw.err) &
sleep 0.3; gpid=$(pgrep -n -f "$snap/dist/server.js")
for i in $(seq 1 100); do curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:$gport/health 2>/dev/null | grep -q 200 && break; sleep 0.2; done
AC=$snap/node_modules/.bin/autocannon
H1='content-type: application/json'; H2='authorization: Bearer bench-master-key-0123456789abcdefghijklmnop'
# MODES="nonstream" or "stream" profiles one kind only (default both, non-streamed first)
for m in ${MODES:-nonstream stream}; do
  s=''; [ $m = stream ] && s='"stream":true,'
  taskset -c 0 $AC -c 50 -d 8 -m POST -H "$H1" -H "$H2" -b '{"model":"bench-model",'$s'"messages":[{"role":"user","content":"hello"}]}' http://127.0.0.1:$gport/v1/chat/completions > $out/ac-$m.txt 2>&1
done
kill -INT $gpid; for i in $(seq 1 50); do kill -0 $gpid 2>/dev/null || break; sleep 0.2; done
kill $mpid; rm -rf $tmp
grep -h "Req/Sec" -A3 $out/ac-*.txt | head; ls $out
