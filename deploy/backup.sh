#!/usr/bin/env bash
# horizon-flow daily backup, built on `flow backup`.
#
#   1. `flow backup` copies the flow store and the audit log with SQLite's backup API
#      (never cp: WAL mode keeps committed data outside the main file), verifies each
#      copy and only then renames it into place;
#   2. `flow verify` (integrity, WORM triggers, counts) and `flow audit verify` (hash
#      chain) run again on the copies, as a restore would;
#   3. the config in force and the previous UTC days' raw feed logs (the input of every
#      replay) are added, gzip-compressed; a SHA256SUMS manifest covers every file;
#   4. the directory is archived as <stamp>.tar.gz, optionally shipped by $UPLOAD_CMD
#      (e.g. an S3 Object Lock upload), and local copies older than $KEEP_DAYS removed.
#
# Any failing step stops the script with a non-zero exit (systemd marks the unit failed:
# alert on it). Settings come from the environment (see horizon-flow-backup.service).
set -euo pipefail

DEPLOY_ROOT=${DEPLOY_ROOT:-/opt/horizon-flow}
FLOW=${FLOW:-$DEPLOY_ROOT/venv/bin/flow}
CONFIG=${CONFIG:-$DEPLOY_ROOT/config/flow.toml}
DATA=${DATA:-$DEPLOY_ROOT/data}
FLOW_DB=${FLOW_DB:-$DATA/flow.db}
AUDIT_DB=${AUDIT_DB:-$DATA/audit.db}
FEEDS=${FEEDS:-$DATA/feeds}
BACKUPS=${BACKUPS:-$DEPLOY_ROOT/backups}
FEED_DAYS=${FEED_DAYS:-1}          # previous UTC days of feed logs to include
KEEP_DAYS=${KEEP_DAYS:-14}         # local retention; the WORM copy keeps the rest
UPLOAD_CMD=${UPLOAD_CMD:-}         # called as: $UPLOAD_CMD <archive.tar.gz>

log() { printf '%s backup: %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*"; }

STAMP=$(date -u +%Y-%m-%dT%H%M%SZ)
DEST="$BACKUPS/$STAMP"
[[ -e "$DEST" ]] && { log "$DEST already exists"; exit 1; }
mkdir -p "$BACKUPS"

log "flow store and audit log -> $DEST"
"$FLOW" backup --db "$FLOW_DB" --audit-db "$AUDIT_DB" --to "$DEST"

log "verifying the copies"
"$FLOW" verify --db "$DEST/$(basename "$FLOW_DB")"
"$FLOW" audit verify --db "$DEST/$(basename "$AUDIT_DB")"

if [[ -f "$CONFIG" ]]; then
    cp -p "$CONFIG" "$DEST/flow.toml"
fi

for ((n = 1; n <= FEED_DAYS; n++)); do
    day=$(date -u -d "$n days ago" +%Y-%m-%d)
    for f in "$FEEDS"/*/"$day".jsonl; do
        [[ -f "$f" ]] || continue
        venue=$(basename "$(dirname "$f")")
        mkdir -p "$DEST/feeds/$venue"
        gzip -c "$f" > "$DEST/feeds/$venue/$day.jsonl.gz"
        log "feed log $venue/$day.jsonl added"
    done
done

(cd "$DEST" && find . -type f ! -name SHA256SUMS -print0 | sort -z | xargs -0 sha256sum > SHA256SUMS)

tar -czf "$DEST.tar.gz" -C "$BACKUPS" "$STAMP"
log "archive $DEST.tar.gz ($(du -h "$DEST.tar.gz" | cut -f1))"

if [[ -n "$UPLOAD_CMD" ]]; then
    log "uploading with $UPLOAD_CMD"
    $UPLOAD_CMD "$DEST.tar.gz"
fi

find "$BACKUPS" -mindepth 1 -maxdepth 1 -name '20*' -mtime "+$KEEP_DAYS" -exec rm -rf {} +
log "done"
