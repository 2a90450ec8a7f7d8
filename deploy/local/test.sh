#!/usr/bin/env bash
# The whole test suite, from a fresh clone: `npm test`.
# Type check and unit tests, then integration tests against real Postgres, Redis and Kafka:
# taken from DATABASE_URL/REDIS_URL/KAFKA_BROKERS when set, else from testcontainers when a
# Docker engine runs, else started on this machine by infra.sh (Kafka from Maven Central).
set -euo pipefail
started=$(date +%s)
# shellcheck source=deploy/local/env.sh
. "$(dirname "${BASH_SOURCE[0]}")/env.sh"

if [ -z "${DATABASE_URL:-}${REDIS_URL:-}${KAFKA_BROKERS:-}" ] && ! hub_docker_engine; then
  echo "[test] no infrastructure given and no Docker engine: starting it on this machine" >&2
  bash deploy/local/infra.sh up
  hub_local_infra_env
  # Tests clone databases from a template; they connect to the server's maintenance database.
  export DATABASE_URL="${DATABASE_URL%/*}/postgres"
fi

mkdir -p .cache
rm -f .cache/int-failures.log
status=0
npx turbo run typecheck test:unit test:int --log-order=grouped || status=$?

# What failed integration tests logged (shared/testing/src/setup-int.ts), last, where a CI
# summary that keeps only the end of the output still shows it.
if [ -s .cache/int-failures.log ]; then
  echo "[test] logs of the failed integration tests (.cache/int-failures.log, last 200 lines):"
  tail -n 200 .cache/int-failures.log | cut -c1-400
fi

# One plain closing line summing both vitest projects. A file whose set-up failed fails no test
# of its own (its tests count as skipped), so such files are named on a line of their own.
node -e '
  const fs = require("fs");
  let passed = 0, failed = 0, skipped = 0;
  const broken = [];
  for (const f of [".cache/vitest-unit.json", ".cache/vitest-int.json"]) {
    if (!fs.existsSync(f)) continue;
    const r = JSON.parse(fs.readFileSync(f, "utf8"));
    passed += r.numPassedTests; failed += r.numFailedTests; skipped += r.numPendingTests + r.numTodoTests;
    for (const file of r.testResults) {
      if (file.status === "failed" && !file.assertionResults.some((t) => t.status === "failed")) broken.push(require("path").relative(process.cwd(), file.name));
    }
  }
  console.log(`Tests: ${passed} passed, ${failed} failed, ${skipped} skipped`);
  if (broken.length > 0) console.log(`Test files that failed outside their tests (set-up, tear-down, import): ${broken.length}: ${broken.join(", ")}`);
' || true
echo "[test] total time: $(( $(date +%s) - started )) s (exit ${status})"
exit "$status"
