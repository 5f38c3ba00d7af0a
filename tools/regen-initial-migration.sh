#!/usr/bin/env bash
# Until the first release, the schema is one migration: rebuild 0001 from the models.
# (After a release, add a new revision with `gatehouse db migrate -m ...` instead.)
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export DATABASE_URL="sqlite:///$tmp/regen.db" SECRET_KEY=regen-secret-key-regen-secret-key-xx
mv migrations/versions/0001_initial_schema.py "$tmp/old_0001.py"
mv migrations/versions/0002_system_tenant.py "$tmp/0002.py"
if ! .venv/bin/gatehouse db migrate -m "initial schema" --rev-id 0001 >"$tmp/log" 2>&1; then
  cat "$tmp/log"; mv "$tmp/old_0001.py" migrations/versions/0001_initial_schema.py
  mv "$tmp/0002.py" migrations/versions/0002_system_tenant.py; exit 1
fi
mv migrations/versions/0001_*.py migrations/versions/0001_initial_schema.py 2>/dev/null || true
sed -i '/^Create Date:/d' migrations/versions/0001_initial_schema.py
mv "$tmp/0002.py" migrations/versions/0002_system_tenant.py
echo "rebuilt migrations/versions/0001_initial_schema.py"
