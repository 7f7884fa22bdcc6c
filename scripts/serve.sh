#!/usr/bin/env bash
# `make demo` after setup: the web server (gunicorn) and one job worker (geosig_worker), together.
# Ctrl-C (or either process dying) stops both; the exit status is the first one's to stop. (Background
# children of a script ignore SIGINT, so the trap forwards Ctrl-C to both as TERM.)
set -u
cd "$(dirname "$0")/.."
HOST="${HOST:-127.0.0.1}"
PORT="${PORT:-8000}"

.venv/bin/gunicorn geosig.wsgi --bind "$HOST:$PORT" --workers "${WEB_WORKERS:-3}" --access-logfile - &
web=$!
.venv/bin/python manage.py geosig_worker &
worker=$!

stop() {
    trap - INT TERM
    kill -TERM "$web" "$worker" 2>/dev/null   # gunicorn and the worker both stop gracefully on TERM
    # A worker in the middle of a long job would wait for it: after 10 s it is killed, and the job goes back
    # to the queue when a worker starts again (its heartbeat stopped; see README «Trabajos»).
    for _ in $(seq 1 40); do
        kill -0 "$worker" 2>/dev/null || break
        sleep 0.25
    done
    kill -KILL "$worker" 2>/dev/null
    wait "$web" "$worker" 2>/dev/null
}
trap 'stop; exit 130' INT TERM
wait -n "$web" "$worker"
status=$?
echo "GeoSIG: un proceso terminó (estado $status); se detiene el otro." >&2
stop
exit "$status"
