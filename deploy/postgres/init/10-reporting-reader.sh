#!/bin/sh
# Runs once, when the postgres container initialises an empty data directory: the login role
# Grafana reads the reporting views as. It is a member of pp_reporting, which insights'
# migration 015 grants SELECT on the `reporting` views (and nothing else), and every
# transaction it opens is read-only. For a database initialised before this script existed,
# run it by hand: GRAFANA_DB_USER=... GRAFANA_DB_PASSWORD=... POSTGRES_USER=postgres \
# POSTGRES_DB=policypulse sh 10-reporting-reader.sh
set -eu
psql -v ON_ERROR_STOP=1 --no-psqlrc --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
    -v reader="${GRAFANA_DB_USER:-grafana_reader}" -v password="$GRAFANA_DB_PASSWORD" <<'SQL'
SELECT NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'pp_reporting') AS missing \gset
\if :missing
CREATE ROLE pp_reporting NOLOGIN;
\endif
SELECT EXISTS (SELECT FROM pg_roles WHERE rolname = :'reader') AS present \gset
\if :present
ALTER ROLE :"reader" LOGIN PASSWORD :'password';
\else
CREATE ROLE :"reader" LOGIN PASSWORD :'password';
\endif
GRANT pp_reporting TO :"reader";
ALTER ROLE :"reader" SET default_transaction_read_only = on;
ALTER ROLE :"reader" SET statement_timeout = '30s';
SQL
