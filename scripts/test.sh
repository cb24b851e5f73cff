#!/usr/bin/env bash
# Set up a venv and run every test: on SQLite, then on PostgreSQL; then each plugin's tests in a
# venv holding only the kernel and that plugin (on SQLite).
# PostgreSQL: CRMKIT_TEST_POSTGRES_URL (default postgresql://postgres@127.0.0.1:5432/test).
# When it is unreachable the PostgreSQL runs are skipped with a message, unless
# CRMKIT_REQUIRE_POSTGRES=1 (set by CI), which makes that a failure.
# Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-venv.sh
VENV=${VENV:-.venv}
PG_URL=${CRMKIT_TEST_POSTGRES_URL:-postgresql://postgres@127.0.0.1:5432/test}

if "$VENV/bin/python" - "$PG_URL" <<'PY'
import sys, psycopg
try:
    psycopg.connect(sys.argv[1], connect_timeout=3).close()
except Exception as exc:
    print(f"PostgreSQL at {sys.argv[1]} is not reachable: {exc}", file=sys.stderr)
    sys.exit(1)
PY
then
  have_pg=1
elif [ "${CRMKIT_REQUIRE_POSTGRES:-0}" = 1 ]; then
  echo "FAIL: PostgreSQL is required (CRMKIT_REQUIRE_POSTGRES=1) but not reachable" >&2
  exit 1
else
  have_pg=0
  echo "SKIPPING the PostgreSQL runs: the server is not reachable (see above)"
fi

run() {  # run VENV LABEL PYTEST-ARGS...: SQLite, then PostgreSQL when reachable
  local venv=$1 label=$2
  shift 2
  echo "== $label on SQLite"
  env -u CRMKIT_TEST_DATABASE_URL "$venv/bin/python" -m pytest -q "$@"
  if [ "$have_pg" = 1 ]; then
    echo "== $label on PostgreSQL ($PG_URL)"
    CRMKIT_TEST_DATABASE_URL=$PG_URL "$venv/bin/python" -m pytest -q "$@"
  fi
}

run "$VENV" "all tests, every plugin installed" "$@"

# A plugin must work with only the kernel beside it. SQLite is enough to prove that: the same
# tests ran on PostgreSQL above, with every plugin installed.
have_pg=0
for plugin in plugins/*/pyproject.toml; do
  [ -e "$plugin" ] || continue
  dir=$(dirname "$plugin")
  name=$(basename "$dir")
  alone=".venv-only-$name"
  [ -x "$alone/bin/python" ] || python3 -m venv "$alone"
  "$alone/bin/pip" install --quiet -e ".[test]" -e "$dir[test]"
  run "$alone" "$name with only the kernel" "$dir/tests" "$@"
done
