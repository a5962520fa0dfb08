#!/usr/bin/env bash
# ctest entry of the chat_collections example: migrate with only a URL,
# --status, a second run (nothing to do), --rollback, --status again.
# Skips (77) without a server unless CI=true.
set -euo pipefail
prog="$1"
url_file="${MIGRATE_MONGO_URL_FILE:-}"
if [ -z "$url_file" ] || [ ! -s "$url_file" ]; then
	[ "${CI:-}" = true ] && { echo "no MongoDB server (fixture failed)" >&2; exit 1; }
	echo "SKIP: no MongoDB server -- example skipped" >&2
	exit 77
fi
url="$(cat "$url_file")/example_chat_$$"
out="$("$prog" "$url")"
echo "$out"
grep -q "Created: chat_sessions chat_messages token_usage message_votes" <<<"$out"
grep -q "create_chat_collections: applied (36/36 steps)" <<<"$out"
"$prog" "$url" --status | grep -q "Migration already applied"
"$prog" "$url" | grep -q "Migration already applied"
"$prog" "$url" --rollback | grep -q "Rolled back"
"$prog" "$url" --status | grep -q "Migration not applied"
echo "example chat_collections: OK"
