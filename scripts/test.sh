#!/usr/bin/env bash
# Set up a venv and run every test: on SQLite, then on PostgreSQL.
# PostgreSQL: CRMKIT_TEST_POSTGRES_URL (default postgresql://postgres@127.0.0.1:5432/test).
# When it is unreachable the PostgreSQL run is skipped with a message, unless
# CRMKIT_REQUIRE_POSTGRES=1 (set by CI), which makes that a failure.
# Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-venv.sh
VENV=${VENV:-.venv}
PG_URL=${CRMKIT_TEST_POSTGRES_URL:-postgresql://postgres@127.0.0.1:5432/test}

echo "== tests on SQLite"
env -u CRMKIT_TEST_DATABASE_URL "$VENV/bin/python" -m pytest -q "$@"

if "$VENV/bin/python" - "$PG_URL" <<'PY'
import sys, psycopg
try:
    psycopg.connect(sys.argv[1], connect_timeout=3).close()
except Exception as exc:
    print(f"PostgreSQL at {sys.argv[1]} is not reachable: {exc}", file=sys.stderr)
    sys.exit(1)
PY
then
  echo "== tests on PostgreSQL ($PG_URL)"
  CRMKIT_TEST_DATABASE_URL=$PG_URL "$VENV/bin/python" -m pytest -q "$@"
elif [ "${CRMKIT_REQUIRE_POSTGRES:-0}" = 1 ]; then
  echo "FAIL: PostgreSQL is required (CRMKIT_REQUIRE_POSTGRES=1) but not reachable" >&2
  exit 1
else
  echo "SKIPPED: the PostgreSQL run (server not reachable; see above)"
fi
