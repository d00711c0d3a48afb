#!/usr/bin/env bash
# A throwaway Azurite (the Azure Storage emulator) for tests and local runs of Vivim:Storage=Azure, on loopback.
#   infra/dev/azurite.sh start DIR PORT   blob on PORT, queue on PORT+1, table on PORT+2, data under DIR;
#                                         prints the explicit devstoreaccount1 connection string
#   infra/dev/azurite.sh stop DIR         stops the emulator started with DIR (its data stays until DIR is removed)
# Azurite 3.35.0 comes from infra/dev/azurite/package-lock.json (installed here when missing). It is started with
# --disableTelemetry (it calls out otherwise) and --skipApiVersionCheck (newer Azure SDKs are refused without it).
set -euo pipefail
cmd=${1:?usage: azurite.sh start DIR PORT | stop DIR}
dir=${2:?data directory}
here=$(cd "$(dirname "$0")" && pwd)

# The emulator's well-known development account (documented by Microsoft; not a secret).
account=devstoreaccount1
key='Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=='

case "$cmd" in
  start)
    port=${3:?port}
    bin="$here/azurite/node_modules/.bin/azurite"
    if [ ! -x "$bin" ]; then
      npm ci --prefix "$here/azurite" --no-audit --no-fund --loglevel=error >&2
    fi
    mkdir -p "$dir/data"
    if [ -f "$dir/azurite.pid" ] && kill -0 "$(cat "$dir/azurite.pid")" 2>/dev/null; then
      echo "Azurite already runs for $dir (pid $(cat "$dir/azurite.pid"))" >&2
      exit 1
    fi
    nohup "$bin" --silent --disableTelemetry --skipApiVersionCheck --location "$dir/data" \
      --blobHost 127.0.0.1 --blobPort "$port" --queueHost 127.0.0.1 --queuePort $((port + 1)) \
      --tableHost 127.0.0.1 --tablePort $((port + 2)) >"$dir/azurite.log" 2>&1 &
    echo $! >"$dir/azurite.pid"
    for _ in $(seq 1 300); do
      if grep -q "Table service is successfully listening" "$dir/azurite.log" 2>/dev/null \
        && grep -q "Blob service is successfully listening" "$dir/azurite.log" 2>/dev/null; then
        echo "DefaultEndpointsProtocol=http;AccountName=$account;AccountKey=$key;BlobEndpoint=http://127.0.0.1:$port/$account;QueueEndpoint=http://127.0.0.1:$((port + 1))/$account;TableEndpoint=http://127.0.0.1:$((port + 2))/$account;"
        exit 0
      fi
      if ! kill -0 "$(cat "$dir/azurite.pid")" 2>/dev/null; then
        cat "$dir/azurite.log" >&2
        exit 1
      fi
      sleep 0.2
    done
    echo "Azurite did not start within 60 s" >&2
    cat "$dir/azurite.log" >&2
    exit 1
    ;;
  stop)
    if [ -f "$dir/azurite.pid" ]; then
      pid=$(cat "$dir/azurite.pid")
      kill "$pid" 2>/dev/null || true
      for _ in $(seq 1 100); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
      done
      kill -9 "$pid" 2>/dev/null || true
      rm -f "$dir/azurite.pid"
    fi
    ;;
  *)
    echo "usage: azurite.sh start DIR PORT | stop DIR" >&2
    exit 2
    ;;
esac
