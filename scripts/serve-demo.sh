#!/usr/bin/env bash
# Set up a venv, create the SQLite database with demo data (once), and serve the API.
# Extra arguments go to `crmkit serve` (e.g. --bind 0.0.0.0:8000 --workers 4).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-venv.sh
VENV=${VENV:-.venv}
export CRMKIT_DATABASE_URL=${CRMKIT_DATABASE_URL:-sqlite:///crmkit.db}
"$VENV/bin/crmkit" demo --if-empty
# An admin to call the API with; its token is shown once by crmkit, so keep it for later runs.
if [ ! -s .demo-token ]; then
  "$VENV/bin/crmkit" users create demo-admin@example.com --name "Demo admin" --role admin \
    --token demo | sed -n 's/^token (shown once): //p' > .demo-token
fi
echo "Demo admin token: $(cat .demo-token)"
echo "  e.g. curl -H \"Authorization: Bearer $(cat .demo-token)\" http://127.0.0.1:8000/api/v1/customers"
echo "API on http://127.0.0.1:8000  (docs: /docs, OpenAPI: /openapi.json, health: /healthz)"
exec "$VENV/bin/crmkit" serve "$@"
