#!/usr/bin/env bash
# The work `lifeline backup --verify none` does, by hand with stock tools: export a snapshot, dump
# it through zstd while the same per-table counts and fingerprints are taken in it, hash and fsync
# what is stored, keep the roles. bench/backup.mjs times it beside lifeline to show what lifeline
# itself costs on top of the work it records.
# Usage: by-hand-backup.sh BINDIR DATABASE OUT_PREFIX ZSTD_LEVEL FINGERPRINT_SQL_FILE
set -euo pipefail
bindir=$1 db=$2 out=$3 level=$4 sql=$5

coproc PSQL { "$bindir/psql" -X -q -At -v ON_ERROR_STOP=1 -d "$db"; }
# Our own copies: bash forgets a coprocess's descriptors once it exits.
exec {to_psql}>&"${PSQL[1]}" {from_psql}<&"${PSQL[0]}"
exec {PSQL[1]}>&-
echo "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY; SET max_parallel_workers_per_gather = 0; SELECT pg_export_snapshot();" >&"$to_psql"
read -r snapshot <&"$from_psql"

"$bindir/pg_dump" -Fc  -Z0 --snapshot="$snapshot" "$db" | zstd -q -T0 "-$level" | tee "$out.dump.zst" | openssl dgst -sha256 -r > "$out.sha256" &
dump=$!
"$bindir/pg_dumpall" --roles-only --no-role-passwords | zstd -q > "$out.globals.zst" &
globals=$!

cat "$sql" >&"$to_psql"
echo "COMMIT;" >&"$to_psql"
exec {to_psql}>&-
cat <&"$from_psql" > "$out.fingerprints"
wait "$dump" "$globals"
sync "$out.dump.zst" "$out.globals.zst"
