#!/bin/bash
# A/B of two built checkouts (each with dist/ and node_modules/): per-thread
# CPU per request, the builds alternated 3 times, non-streamed then streamed.
#   flock /tmp/heavy.lock bench/profile/ab.sh /path/to/before /path/to/after
set -u
here=$(dirname "$0")
for mode in "" stream; do
  for i in 1 2 3; do
    for root in "$1" "$2"; do
      echo "=== $root ${mode:-nonstream} #$i"
      "$here/threads.sh" "$root" $mode
    done
  done
done
