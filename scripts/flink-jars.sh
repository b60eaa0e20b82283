#!/usr/bin/env bash
# Fetch the few Flink jars that tests/flink_memory.rs runs (Flink's own BashJavaUtils memory
# derivation), for every Flink version the test covers.
#
# The jars come from PyPI's apache-flink-libraries package (the Flink distribution's jars,
# packaged for PyFlink), downloaded with pip. Only bin/bash-java-utils.jar, lib/flink-dist-*.jar
# and lib/log4j-*.jar are kept, in
#     ${FLINKGEN_CACHE:-$HOME/.cache/flinkgen}/flink-<version>/{bin,lib}/
# The downloaded archives stay in $CACHE/wheels (scripts/flink-options.sh reads them too), unless
# FLINKGEN_DROP_ARCHIVES=1 (CI sets it: they are 2 GB, and the extracted jars are the cache).
# Idempotent: a version whose jars are present is left alone, and an archive already in
# $CACHE/wheels is not downloaded again.
set -euo pipefail

# Every Flink minor flinkgen supports (tests/flink_config.rs); tests/flink_memory.rs uses 1.18, 1.20, 2.2.
VERSIONS=(1.18.1 1.19.3 1.20.3 2.0.0 2.1.1 2.2.0 2.3.0)
CACHE="${FLINKGEN_CACHE:-$HOME/.cache/flinkgen}"
WHEELS="$CACHE/wheels"

say() { echo "flink-jars: $*"; }
die() {
    echo "flink-jars: error: $*" >&2
    exit 1
}

pip_cmd() {
    if command -v python3 >/dev/null 2>&1 && python3 -m pip --version >/dev/null 2>&1; then
        python3 -m pip "$@"
    elif command -v pip >/dev/null 2>&1; then
        pip "$@"
    else
        die "neither \`python3 -m pip\` nor \`pip\` is available: install pip, or put the archives into $WHEELS yourself"
    fi
}

# The archive of apache-flink-libraries <version> in $WHEELS, if there is one.
archive_of() {
    local v="$1" f
    for f in "$WHEELS/apache_flink_libraries-$v-"*.whl "$WHEELS/apache-flink-libraries-$v.tar.gz" \
        "$WHEELS/apache_flink_libraries-$v.tar.gz"; do
        if [ -s "$f" ]; then
            echo "$f"
            return 0
        fi
    done
    return 1
}

have_jars() {
    local dir="$1"
    [ -s "$dir/bin/bash-java-utils.jar" ] &&
        compgen -G "$dir/lib/flink-dist-*.jar" >/dev/null &&
        compgen -G "$dir/lib/log4j-core-*.jar" >/dev/null &&
        compgen -G "$dir/lib/log4j-api-*.jar" >/dev/null
}

download() {
    local v="$1" log
    mkdir -p "$WHEELS"
    say "downloading apache-flink-libraries==$v into $WHEELS"
    log="$(mktemp)"
    if ! pip_cmd download --no-deps "apache-flink-libraries==$v" -d "$WHEELS" >"$log" 2>&1; then
        # Old versions are sdists; pip prepares their metadata, which may need `wheel`.
        say "pip download failed; installing \`wheel\` and retrying"
        pip_cmd install --quiet wheel >>"$log" 2>&1 || true
        if ! pip_cmd download --no-deps "apache-flink-libraries==$v" -d "$WHEELS" >>"$log" 2>&1; then
            cat "$log" >&2
            rm -f "$log"
            die "pip download apache-flink-libraries==$v failed"
        fi
    fi
    rm -f "$log"
}

extract() {
    local v="$1" archive="$2" dest="$3" tmp
    tmp="$(mktemp -d "$CACHE/.flink-$v.XXXXXX")"
    # shellcheck disable=SC2064
    trap "rm -rf '$tmp'" RETURN
    mkdir -p "$tmp/out/bin" "$tmp/out/lib"
    case "$archive" in
    *.whl)
        # A wheel is a zip: pyflink/bin/…, pyflink/lib/…
        python3 - "$archive" "$tmp/out" <<'PY' || die "cannot extract jars from $archive"
import re, shutil, sys, zipfile
archive, out = sys.argv[1], sys.argv[2]
wanted = re.compile(r"^pyflink/(bin/bash-java-utils\.jar|lib/flink-dist-[^/]*\.jar|lib/log4j-[^/]*\.jar)$")
n = 0
with zipfile.ZipFile(archive) as z:
    for name in z.namelist():
        m = wanted.match(name)
        if m:
            with z.open(name) as src, open(f"{out}/{m.group(1)}", "wb") as dst:
                shutil.copyfileobj(src, dst)
            n += 1
sys.exit(0 if n else 1)
PY
        ;;
    *.tar.gz)
        # An sdist: apache-flink-libraries-<v>/deps/bin/…, …/deps/lib/… (newer sdists name the
        # top directory apache_flink_libraries-<v>).
        local base
        base=$(basename "$archive" .tar.gz)
        local top="$base/deps"
        tar -xzf "$archive" -C "$tmp" --wildcards \
            "$top/bin/bash-java-utils.jar" "$top/lib/flink-dist-*.jar" "$top/lib/log4j-*.jar" ||
            die "cannot extract jars from $archive"
        mv "$tmp/$top/bin/bash-java-utils.jar" "$tmp/out/bin/"
        mv "$tmp/$top/lib/"*.jar "$tmp/out/lib/"
        ;;
    *) die "unknown archive type: $archive" ;;
    esac
    have_jars "$tmp/out" || die "$archive lacks bash-java-utils.jar, flink-dist or log4j jars"
    rm -rf "$dest"
    mv "$tmp/out" "$dest"
    say "extracted into $dest:"
    (cd "$dest" && find . -name '*.jar' | sort | sed 's|^\./|    |')
}

mkdir -p "$CACHE"
for v in "${VERSIONS[@]}"; do
    dest="$CACHE/flink-$v"
    if have_jars "$dest"; then
        say "Flink $v: jars present in $dest"
        continue
    fi
    if ! archive="$(archive_of "$v")"; then
        download "$v"
        archive="$(archive_of "$v")" || die "pip download left no archive for $v in $WHEELS"
    else
        say "Flink $v: using $archive"
    fi
    extract "$v" "$archive" "$dest"
    if [ "${FLINKGEN_DROP_ARCHIVES:-0}" = 1 ]; then
        rm -f "$archive"
    fi
done
say "done: jars in $CACHE/flink-{$(
    IFS=,
    echo "${VERSIONS[*]}"
)}"
