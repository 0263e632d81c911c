#!/usr/bin/env bash
# The work `lifeline restore --into` does, by hand with stock tools: check the stored dump's
# sha256 before anything changes, create the database, restore into it, ANALYZE, then take the
# per-table counts and fingerprints the backup recorded, to compare. bench/restore.mjs times it
# beside lifeline to show what lifeline itself costs on top of that work.
# Usage: by-hand-restore.sh BINDIR STORED_FILE SHA256 DATABASE FINGERPRINT_SQL_FILE OUT_FILE
set -euo pipefail
bindir=$1 file=$2 sha=$3 db=$4 sql=$5 out=$6

[ "$(openssl dgst -sha256 -r "$file" | cut -d' ' -f1)" = "$sha" ] || { echo "sha256 mismatch: $file" >&2; exit 1; }
"$bindir/createdb" -T template0 "$db"
zstd -q -dc "$file" | "$bindir/pg_restore" --exit-on-error -d "$db"
"$bindir/psql" -X -q -v ON_ERROR_STOP=1 -d "$db" -c ANALYZE
"$bindir/psql" -X -q -At -v ON_ERROR_STOP=1 -d "$db" -f "$sql" > "$out"
