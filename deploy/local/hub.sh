#!/usr/bin/env bash
# Runs the whole hub on this machine: `npm start`.
# Starts (or reuses) Postgres, Redis and a real Kafka broker, applies migrations, creates the
# topics, then runs all seven services as separate processes with mock vendors. Ctrl-C stops
# every service gracefully (and leaves the infrastructure running; `npm run infra:down` stops Kafka).
set -euo pipefail
# shellcheck source=deploy/local/env.sh
. "$(dirname "${BASH_SOURCE[0]}")/env.sh"

bash deploy/local/infra.sh up
hub_local_infra_env
npm run -s migrate
npm run -s topics
npm run -s build

# Development defaults; override any of them in the environment.
export LOG_FORMAT="${LOG_FORMAT:-pretty}"
export VENDOR_MODE="${VENDOR_MODE:-mock}"
export ADMIN_AUTH_TOKEN="${ADMIN_AUTH_TOKEN:-dev-admin-token}"
export WEBHOOK_SECRET_FCM="${WEBHOOK_SECRET_FCM:-dev-fcm-secret}"
export WEBHOOK_SECRET_SES="${WEBHOOK_SECRET_SES:-dev-ses-secret}"
export WEBHOOK_SECRET_TWILIO="${WEBHOOK_SECRET_TWILIO:-dev-twilio-secret}"
export WEBHOOK_SECRET_KAKAO="${WEBHOOK_SECRET_KAKAO:-dev-kakao-secret}"

echo "[hub] ingest-api http://127.0.0.1:8080  admin-api http://127.0.0.1:8081 (X-Admin-Token: ${ADMIN_AUTH_TOKEN})"
echo "[hub] health/metrics: relay :9101, push :9102, email :9103, sms :9104, kakao :9105"
# PORT is per service; unset any inherited value so each takes its own default.
unset PORT
exec npx concurrently --kill-others --kill-signal SIGTERM --prefix-colors auto \
  --names ingest-api,admin-api,outbox-relay,push,email,sms,kakao \
  "node dist/ingest-api/main.mjs" \
  "node dist/admin-api/main.mjs" \
  "node dist/outbox-relay/main.mjs" \
  "node dist/dispatcher-push/main.mjs" \
  "node dist/dispatcher-email/main.mjs" \
  "node dist/dispatcher-sms/main.mjs" \
  "node dist/dispatcher-kakao/main.mjs"
