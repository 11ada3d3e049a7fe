#!/usr/bin/env bash
# The Zarr sink writing to an S3 server (s3s-fs) behind a link with a round trip of 2 x DELAY_MS
# (benches/delay_proxy.py on loopback), once with storage.s3_puts_at_once = 1 (a column's
# objects one after the other) and once with the default 8: the same run's wall time and the
# objects' count.
#   benches/compare_s3_puts.sh [DELAY_MS]   (default 10)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup-hdf5.sh >&2
delay=${1:-10}
cargo build --release --quiet
scripts/setup-s3.sh
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
bin=$PWD/target/release/seisreduce
# 192 channels of 10 minutes at 100 Hz; shards of 4 channels: 48 objects per column
"$bin" synth --out "$work/in.mseed" --channels 192 --seconds 600 >/dev/null
mkdir -p "$work/s3/seismic"
cat > "$work/p.toml" <<EOF
[pipeline]
name = "s3puts"
[sources.f]
type = "mseed"
path = "$work/in.mseed"
[operators.d]
type = "decode"
inputs = ["f"]
[sinks.z]
type = "zarr"
inputs = ["d"]
path = "net.zarr"
chunk = [4, 4096]
shard = [4, 65536]
EOF
s3=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
proxy=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$HOME/.cargo/bin/s3s-fs" --host 127.0.0.1 --port "$s3" --access-key k --secret-key s "$work/s3" \
  > "$work/s3s.log" 2>&1 &
server=$!
python3 benches/delay_proxy.py "$proxy" "$s3" "$delay" &
shim=$!
trap 'kill $server $shim; rm -rf "$work"' EXIT
for port in "$s3" "$proxy"; do
  for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done
done
export SEISREDUCE_STORAGE_S3_ENDPOINT=http://127.0.0.1:$proxy SEISREDUCE_STORAGE_S3_ALLOW_HTTP=true \
  SEISREDUCE_STORAGE_S3_ACCESS_KEY_ID=k SEISREDUCE_STORAGE_S3_SECRET_ACCESS_KEY=s
for n in 1 8; do
  start=$(date +%s.%N)
  SEISREDUCE_STORAGE_ROOT=s3://seismic/at-once-$n SEISREDUCE_STORAGE_S3_PUTS_AT_ONCE=$n \
    "$bin" run "$work/p.toml" > "$work/run-$n.log" 2>&1 || { cat "$work/run-$n.log"; exit 1; }
  end=$(date +%s.%N)
  objects=$(find "$work/s3/seismic/at-once-$n/net.zarr" -path '*/c/*' -type f | wc -l)
  echo "s3_puts_at_once = $n: $(python3 -c "print(f'{$end - $start:.2f}')") s for the run, $objects data objects, round trip $((2 * delay)) ms"
done
