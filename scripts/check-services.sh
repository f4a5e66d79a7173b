#!/usr/bin/env bash
# Checks that Redis (127.0.0.1:6379) and PostgreSQL (127.0.0.1:5432) answer. With CI=true a missing
# service fails the run; otherwise it is reported and the run goes on (no test needs them yet
# unless CI says so; tests that do need them fail rather than skip under CI=true).
set -uo pipefail
REDIS_HOST=${REDIS_HOST:-127.0.0.1}; REDIS_PORT=${REDIS_PORT:-6379}
PG_HOST=${PGHOST:-127.0.0.1}; PG_PORT=${PGPORT:-5432}
failed=0

redis_ok() {
  exec 3<>"/dev/tcp/$REDIS_HOST/$REDIS_PORT" 2>/dev/null || return 1
  printf 'PING\r\n' >&3
  local line=''
  read -r -t 3 line <&3 || true
  exec 3>&- 3<&-
  [[ "$line" == +PONG* ]]
}

pg_ok() {
  if command -v pg_isready >/dev/null 2>&1; then
    pg_isready -q -h "$PG_HOST" -p "$PG_PORT" -t 3
  else
    (exec 3<>"/dev/tcp/$PG_HOST/$PG_PORT") 2>/dev/null
  fi
}

if redis_ok; then echo "services: Redis answers on $REDIS_HOST:$REDIS_PORT"; else
  echo "services: Redis does not answer on $REDIS_HOST:$REDIS_PORT." >&2
  echo "  start it with: redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save '' --appendonly no" >&2
  failed=1
fi
if pg_ok; then echo "services: PostgreSQL answers on $PG_HOST:$PG_PORT"; else
  echo "services: PostgreSQL does not answer on $PG_HOST:$PG_PORT." >&2
  echo "  start it with: pg_ctlcluster --skip-systemctl-redirect \$(ls /etc/postgresql) main start" >&2
  failed=1
fi

if [[ $failed -ne 0 && "${CI:-}" == "true" ]]; then
  echo "services: required services are missing (CI=true); stopping." >&2
  exit 1
fi
exit 0
