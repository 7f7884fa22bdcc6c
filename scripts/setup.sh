#!/usr/bin/env bash
# Everything GeoSIG Valle needs on a Debian 12 machine, idempotent: a second run only checks.
#   system packages (apt) → PostgreSQL/PostGIS → .venv → .env → database → migrations → data.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
log() { printf '\033[1m==> %s\033[0m\n' "$*"; }
die() { printf 'ERROR: %s\n' "$*" >&2; exit 1; }
SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"

# 1. System packages: PostGIS, GDAL/GEOS/PROJ for GeoDjango, gettext for translations, Chromium for
#    the browser tests, Pango for PDF reports, npm for the front-end packages no Python wheel ships.
# postgresql-client-15: pg_dump/pg_restore for `manage.py backup`/`restore` (also on an app-only server).
APT_PACKAGES=(postgresql-15-postgis-3 postgresql-client-15 gdal-bin libgdal32 libgeos-c1v5 libproj25 gettext chromium
              libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 poppler-utils npm)
# Benchmarks only (`make bench`): GRASS r.cost is the reference of bench_corridors.py; ab (apache2-utils)
# loads the HTTP endpoints. Kept out of the everyday setup: GRASS is large.
if [ "${GEOSIG_BENCH:-0}" = 1 ]; then APT_PACKAGES+=(grass-core apache2-utils); fi
missing=()
for p in "${APT_PACKAGES[@]}"; do
  # npm only where node has none (these machines ship node + npm outside apt).
  if [ "$p" = npm ] && command -v npm >/dev/null; then continue; fi
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  log "Instalando paquetes del sistema: ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# 2. PostgreSQL: DATABASE_URL if given, else the local server at 127.0.0.1:5432.
if [ -z "${DATABASE_URL:-}" ] && [ -f .env ]; then
  DATABASE_URL=$(sed -n 's/^DATABASE_URL=//p' .env | tail -n1)
fi
DATABASE_URL=${DATABASE_URL:-postgis://postgres@127.0.0.1:5432/geosig}
export DATABASE_URL
PGURL="postgresql://${DATABASE_URL#*://}"
ADMIN_URL="${PGURL%/*}/postgres"
if ! pg_isready -q -d "$ADMIN_URL" 2>/dev/null; then
  if [ -n "$(ls /etc/postgresql 2>/dev/null)" ]; then
    log "Arrancando PostgreSQL local"
    $SUDO pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | tail -n1)" main start || true
    sleep 2
  fi
  pg_isready -q -d "$ADMIN_URL" || die "No hay PostgreSQL en $ADMIN_URL. Instale uno (apt-get install postgresql-15) o defina DATABASE_URL=postgis://usuario@host:puerto/base."
fi

# 3. Python virtualenv, reinstalled only when pyproject.toml or requirements.lock changes.
PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || { log "Creando .venv"; "$PY" -m venv .venv; }
# Reproducible: exact versions with their hashes from requirements.lock (pyproject.toml keeps the ranges;
# refresh the lock with the command in the README). Only PyPI is asked, so a machine's extra indexes or
# wheel folders cannot substitute other builds (pip refuses any file whose hash is not in the lock).
stamp=".venv/.installed-$(cat pyproject.toml requirements.lock | sha256sum | cut -c1-16)"
if [ ! -f "$stamp" ]; then
  log "Instalando dependencias de Python (requirements.lock, con hashes)"
  .venv/bin/pip install -q --upgrade pip
  env -u PIP_FIND_LINKS -u PIP_EXTRA_INDEX_URL PIP_CONFIG_FILE=/dev/null \
    .venv/bin/pip install -q --require-hashes -r requirements.lock
  .venv/bin/pip install -q --no-deps -e .
  rm -f .venv/.installed-*; touch "$stamp"
fi

# 4. Front-end packages (npm registry; lockfile pinned), served as static files.
if [ -f package-lock.json ]; then
  if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    log "Instalando paquetes de front-end (npm ci)"
    npm ci --silent --no-audit --no-fund
  fi
fi

# 5. .env with a fresh secret on first run (never committed), readable by its owner only: it holds the
#    SECRET_KEY and maybe a database password. umask in a subshell: the file is never world-readable.
if [ ! -f .env ]; then
  log "Creando .env"
  key=$(.venv/bin/python -c 'import secrets; print(secrets.token_urlsafe(50))')
  (umask 077; printf 'SECRET_KEY=%s\nDATABASE_URL=%s\nDEBUG=false\n' "$key" "$DATABASE_URL" > .env)
fi
chmod 600 .env

# 6. Database with PostGIS (the extension needs a superuser: done here, once).
dbname=${PGURL##*/}; dbname=${dbname%%\?*}
if ! psql -Atq -d "$ADMIN_URL" -c "select 1 from pg_database where datname='$dbname'" | grep -q 1; then
  log "Creando la base de datos $dbname"
  psql -q -d "$ADMIN_URL" -c "create database \"$dbname\""
fi
psql -q -d "$PGURL" -c "create extension if not exists postgis; create extension if not exists postgis_raster;" \
  2>/dev/null || log "Aviso: no se pudo crear la extensión postgis (requiere superusuario); las migraciones lo intentarán."

# 7. Schema, translations, static files, data.
M=".venv/bin/python manage.py"
$M migrate --noinput -v 0
$M createcachetable
$M compilemessages -v 0 --ignore=.venv --ignore=node_modules
# collectstatic compresses every file (~15 s): only when a static source or the venv changed.
if [ ! -f staticfiles/.stamp ] || [ -n "$(find ./*/static package-lock.json .venv/.installed-* -newer staticfiles/.stamp -print -quit 2>/dev/null)" ]; then
  $M collectstatic --noinput -v 0
  touch staticfiles/.stamp
fi
$M fetch_data
if [ "${GEOSIG_SKIP_LOAD:-0}" != 1 ]; then
  $M load_territory
  $M load_cities
  $M load_layers
  $M load_pot  # POT: determinants, Cali's real (partial) plan, labelled demo plans; fast on rerun
  $M plan_demo  # plan follow-up: a DEMO portfolio (labelled) when none exists; `plan_demo --remove` takes it out
fi
log "Listo."
