#!/bin/sh
# The reference VO server for bench/archive_vs_dachs.py: DaCHS (Debian's python3-gavo) on a private
# PostgreSQL 15 cluster with pgsphere and q3c, serving the benchmark's catalogue through TAP.
#
# Usage (as root; idempotent: each step is skipped when already done):
#   sh bench/dachs_setup.sh start WORKDIR   # install, init the cluster and DaCHS, import WORKDIR/data/*.fits, serve
#   sh bench/dachs_setup.sh stop WORKDIR    # stop gavo serve and the cluster (the files stay in WORKDIR)
# Environment: PGPORT (default 54329), WEBPORT (default 18080), DACHS_INDEX (q3c, the index DaCHS's ADQL
# translator turns CONTAINS into q3c_join for, or pgsphere, DaCHS's recommended //scs#pgs-pos-index).
# WORKDIR/data may hold cat.fits (id, ra, dec, mag, field) and epochs.fits (id, cat_id, flux), written by
# bench/archive_vs_dachs.py; each WORKDIR/rd/NAME/ holding a q.rd (and the files it reads) is imported as
# the resource NAME/q (bench/adql_vs_dachs.py writes the platform's real catalogues that way). Everything runs as the postgres user; nothing is registered with pg_ctlcluster, and
# nothing is installed into the Makefile's packages (this is a benchmark dependency, not a CI one).
set -eu
ACTION=${1:?usage: dachs_setup.sh start|stop WORKDIR}
WORK=${2:?usage: dachs_setup.sh start|stop WORKDIR}
PGPORT=${PGPORT:-54329}
WEBPORT=${WEBPORT:-18080}
DACHS_INDEX=${DACHS_INDEX:-q3c}
PGBIN=/usr/lib/postgresql/15/bin
EXT=/usr/share/postgresql/15/extension
PGDATA=$WORK/pgdata
SOCK=$WORK/sock
ROOT=$WORK/gavo
RC=$WORK/gavo.rc
as_pg() { runuser -u postgres -- env GAVOSETTINGS="$RC" GAVOCUSTOM=/nonexistent "$@"; }

if [ "$ACTION" = stop ]; then
    if [ -f "$ROOT/state/web.pid" ]; then
        as_pg gavo serve stop
    fi
    if [ -f "$PGDATA/postmaster.pid" ]; then
        as_pg "$PGBIN/pg_ctl" -D "$PGDATA" -m fast -w stop
    fi
    exit 0
fi

# 1. Packages (Debian 12: DaCHS 2.7, pgsphere 1.2.0, q3c 2.0).
if ! dpkg -s python3-gavo postgresql-15-pgsphere postgresql-15-q3c >/dev/null 2>&1; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        python3-gavo postgresql-15 postgresql-15-pgsphere postgresql-15-q3c
fi

# 2. pgsphere 1.2.0's script fails on PostgreSQL 15 ("commutator operator @> is already the commutator of
# operator <@", pgsphere issue #85; fixed upstream by dropping the two legacy @(bigint|spoint, smoc)
# operators); PostgreSQL 15.18 still takes the original. A patched copy, installed as its own extension
# version, works on both and leaves Debian's file alone.
if [ ! -f "$EXT/pg_sphere--1.2.0_nolegacy.sql" ]; then
    awk '/^-- a minimal set of backwards-compatible operators for GAVO DaCHS/ {skip=1}
         /^-- debugging/ {skip=0}
         !skip' "$EXT/pg_sphere--1.2.0.sql" > "$EXT/pg_sphere--1.2.0_nolegacy.sql.tmp"
    mv "$EXT/pg_sphere--1.2.0_nolegacy.sql.tmp" "$EXT/pg_sphere--1.2.0_nolegacy.sql"
fi

# 3. A private cluster (trust on its own socket directory only, no TCP).
mkdir -p "$WORK" "$SOCK"
chown postgres "$WORK" "$SOCK"
if [ ! -f "$PGDATA/PG_VERSION" ]; then
    as_pg "$PGBIN/initdb" -D "$PGDATA" -A trust -U postgres -E UTF8 >/dev/null
fi
if [ ! -f "$PGDATA/postmaster.pid" ]; then
    as_pg "$PGBIN/pg_ctl" -D "$PGDATA" -l "$WORK/postgres.log" -w \
        -o "-p $PGPORT -k $SOCK -c listen_addresses='' -c shared_buffers=512MB -c work_mem=64MB" start
fi
PSQL="$PGBIN/psql -h $SOCK -p $PGPORT -v ON_ERROR_STOP=1 -qAt"
if [ "$(as_pg $PSQL -d postgres -c "SELECT 1 FROM pg_database WHERE datname='gavo'")" != 1 ]; then
    as_pg $PSQL -d postgres -c "CREATE DATABASE gavo"
fi
as_pg $PSQL -d gavo -c "CREATE EXTENSION IF NOT EXISTS pg_sphere VERSION '1.2.0_nolegacy'"
as_pg $PSQL -d gavo -c "CREATE EXTENSION IF NOT EXISTS q3c"

# 4. DaCHS: its own configuration and root, run as postgres (the cluster's owner and superuser).
mkdir -p "$ROOT/inputs/bench/data"
cat > "$RC" <<EOF
[general]
rootDir: $ROOT
group: postgres
gavoGroup: postgres
[web]
serverURL: http://127.0.0.1:$WEBPORT
bindAddress: 127.0.0.1
serverPort: $WEBPORT
user: postgres
sqlTimeout: 600
maxSyncUploadSize: 50000000
maxUploadSize: 50000000
[async]
defaultExecTimeSync: 600
[db]
profilePath: $ROOT/etc
EOF
chown -R postgres "$ROOT"
if [ ! -f "$ROOT/etc/feed" ]; then
    as_pg gavo init -d "host=$SOCK port=$PGPORT dbname=gavo user=postgres"
fi

# 5. The resource descriptor: the same catalogue and its epochs table, with DaCHS's positional index.
if [ -f "$WORK/data/cat.fits" ]; then
    if [ "$DACHS_INDEX" = q3c ]; then MIXIN="//scs#q3cindex"; else MIXIN="//scs#pgs-pos-index"; fi
    cat > "$ROOT/inputs/bench/q.rd.tmp" <<EOF
<resource schema="bench">
  <meta name="title">astrohub benchmark catalogue</meta>
  <meta name="description">10^6 random positions, the catalogue of bench/archive_vs_dachs.py.</meta>
  <meta name="creationDate">2026-12-04T00:00:00</meta>
  <meta name="subject">benchmark</meta>
  <meta name="creator.name">astrohub</meta>
  <table id="cat" onDisk="True" adql="True" primary="id">
    <mixin>$MIXIN</mixin>
    <column name="id" type="bigint" ucd="meta.id;meta.main" required="True"/>
    <column name="ra" type="double precision" unit="deg" ucd="pos.eq.ra;meta.main"/>
    <column name="dec" type="double precision" unit="deg" ucd="pos.eq.dec;meta.main"/>
    <column name="mag" type="real" unit="mag" ucd="phot.mag"/>
    <column name="field" type="integer" ucd="meta.id"/>
  </table>
  <table id="epochs" onDisk="True" adql="True" primary="id">
    <index columns="cat_id"/>
    <column name="id" type="bigint" ucd="meta.id;meta.main" required="True"/>
    <column name="cat_id" type="bigint" ucd="meta.id"/>
    <column name="flux" type="real" ucd="phot.flux"/>
  </table>
  <data id="import_cat">
    <sources>data/cat.fits</sources>
    <fitsTableGrammar/>
    <make table="cat"/>
  </data>
  <data id="import_epochs">
    <sources>data/epochs.fits</sources>
    <fitsTableGrammar/>
    <make table="epochs"/>
  </data>
</resource>
EOF
    mv "$ROOT/inputs/bench/q.rd.tmp" "$ROOT/inputs/bench/q.rd"
    cp "$WORK/data/cat.fits" "$WORK/data/epochs.fits" "$ROOT/inputs/bench/data/"
    chown -R postgres "$ROOT/inputs"
    STAMP="$(md5sum "$ROOT/inputs/bench/q.rd" "$ROOT/inputs/bench/data/cat.fits" "$ROOT/inputs/bench/data/epochs.fits" | md5sum)"
    if [ "$(cat "$WORK/imported" 2>/dev/null || true)" != "$STAMP" ]; then
        (cd "$ROOT/inputs" && as_pg gavo imp bench/q)
        echo "$STAMP" > "$WORK/imported"
    fi
fi

# 5b. Other resources: WORKDIR/rd/NAME/ (an RD q.rd and its data), imported when it changed. One that publishes to
# ObsCore (bench/sia_vs_dachs.py's images) needs DaCHS's ivoa.obscore made first ("dachs imp //obscore").
if grep -qs "//obscore#" "$WORK"/rd/*/q.rd && [ ! -f "$WORK/imported-system-obscore" ]; then
    (cd "$ROOT/inputs" && as_pg gavo imp //obscore)
    touch "$WORK/imported-system-obscore"
fi
for dir in "$WORK"/rd/*/; do
    [ -f "$dir/q.rd" ] || continue
    name=$(basename "$dir")
    rm -rf "$ROOT/inputs/$name"
    cp -r "$dir" "$ROOT/inputs/$name"
    chown -R postgres "$ROOT/inputs/$name"
    STAMP="$(cd "$ROOT/inputs/$name" && find . -type f | sort | xargs md5sum | md5sum)"
    if [ "$(cat "$WORK/imported-$name" 2>/dev/null || true)" != "$STAMP" ]; then
        (cd "$ROOT/inputs" && as_pg gavo imp "$name/q")
        echo "$STAMP" > "$WORK/imported-$name"
    fi
done

# 6. Serve: DaCHS's production server (a daemon; its pid in $ROOT/state/web.pid, logs in $ROOT/logs).
if ! [ -f "$ROOT/state/web.pid" ] || ! kill -0 "$(cat "$ROOT/state/web.pid")" 2>/dev/null; then
    as_pg gavo serve start
fi
i=0
until curl -fs "http://127.0.0.1:$WEBPORT/tap/availability" >/dev/null 2>&1; do
    i=$((i + 1))
    if [ $i -gt 120 ]; then echo "gavo serve did not start; see $ROOT/logs" >&2; exit 1; fi
    sleep 1
done
echo "DaCHS TAP at http://127.0.0.1:$WEBPORT/tap"
