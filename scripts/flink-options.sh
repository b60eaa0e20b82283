#!/usr/bin/env bash
# Regenerate policies/flink/options/<minor>.tsv: every configuration option (ConfigOption field) of
# each Flink minor version flinkgen knows, with its type, deprecated/fallback keys and enum values.
# The .tsv files are committed data; this script (with scripts/flink-options/OptionCatalog.java,
# which does the reading) is the way to regenerate them.
#
# Per version, the jars come from PyPI's apache-flink-libraries package (the Flink distribution's
# jars, packaged for PyFlink), downloaded with pip like scripts/flink-jars.sh does; the archives
# stay in $CACHE/wheels. The jars this script needs are extracted into its own directories,
#     ${FLINKGEN_CACHE:-$HOME/.cache/flinkgen}/options-<version>/{lib,opt,plugins/…}/
# (not the flink-<version>/ directories of flink-jars.sh). Idempotent: an archive already in
# $CACHE/wheels is not downloaded again, and a version whose jars are extracted is not re-extracted.
#
# Jars scanned, per version (whichever the archive holds):
#   lib/flink-dist-<v>.jar               core, runtime, streaming, clients, RocksDB/ForSt state
#                                        backends, changelog, Kubernetes and YARN options
#   lib/flink-statebackend-*.jar         state backends shipped next to flink-dist, if any
#   lib/flink-table-api-java-uber-<v>.jar  only the table.* configuration classes
#                                        (TableConfigOptions, ExecutionConfigOptions, OptimizerConfigOptions)
#   opt|plugins: flink-kubernetes-*.jar and filesystem plugins (flink-s3-fs-*, flink-gs-fs-*,
#                flink-azure-fs-*, flink-oss-fs-*), if the archive has them (the PyPI archives of
#                1.18–2.3 do not)
# Not scanned: connector/format jars (their options are table DDL options, not configuration keys),
# opt/flink-python, opt/flink-sql-client, the metrics reporter plugins, and the classes under
# org.apache.flink.connector. in flink-dist (connector-base DDL options such as sink.batch.max-size).
#
# Usage: scripts/flink-options.sh [MINOR…]     (default: every minor below)
set -euo pipefail

# Flink minor → the exact release read (the same releases as the policies/flink/<minor>.kdl packs).
declare -A RELEASE=(
    [1.18]=1.18.1 [1.19]=1.19.3 [1.20]=1.20.3
    [2.0]=2.0.0 [2.1]=2.1.1 [2.2]=2.2.0 [2.3]=2.3.0
)
MINORS=(1.18 1.19 1.20 2.0 2.1 2.2 2.3)

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="${FLINKGEN_CACHE:-$HOME/.cache/flinkgen}"
WHEELS="$CACHE/wheels"
OUT="$ROOT/policies/flink/options"
SRC="$ROOT/scripts/flink-options/OptionCatalog.java"

say() { echo "flink-options: $*" >&2; }
die() {
    echo "flink-options: error: $*" >&2
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

# The archive of apache-flink-libraries <version> in $WHEELS, if there is one. (Only the project's
# own archives: apache-flink-libraries / apache_flink_libraries, nothing else that merely ends so.)
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

# Extract the jars to scan (and log4j, which flink-dist needs on the classpath) from an archive into
# $dest/{lib,opt,plugins/…}. A wheel holds pyflink/{lib,opt,plugins}/…, an sdist
# apache[-_]flink[-_]libraries-<v>/deps/{lib,opt,plugins}/…; both are read with Python's zipfile/tarfile.
extract() {
    local v="$1" archive="$2" dest="$3" tmp
    tmp="$(mktemp -d "$CACHE/.options-$v.XXXXXX")"
    # shellcheck disable=SC2064
    trap "rm -rf '$tmp'" RETURN
    python3 - "$archive" "$tmp/out" <<'PY' || die "cannot extract jars from $archive"
import os, re, shutil, sys, tarfile, zipfile
archive, out = sys.argv[1], sys.argv[2]
wanted = re.compile(
    r"^(?:pyflink|[^/]+/deps)/("
    r"lib/(?:flink-dist|flink-table-api-java-uber|flink-statebackend-[^/]*|log4j-[^/]*)[^/]*\.jar"
    r"|(?:opt|plugins(?:/[^/]+)?)/flink-(?:kubernetes|s3-fs|gs-fs|azure-fs|oss-fs|statebackend)[^/]*\.jar"
    r")$")
def save(rel, src):
    path = os.path.join(out, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as dst:
        shutil.copyfileobj(src, dst)
n = 0
if archive.endswith(".whl"):
    with zipfile.ZipFile(archive) as z:
        for name in z.namelist():
            m = wanted.match(name)
            if m:
                with z.open(name) as src:
                    save(m.group(1), src)
                n += 1
else:
    with tarfile.open(archive, "r:gz") as t:
        for member in t:
            m = wanted.match(member.name)
            if m and member.isfile():
                save(m.group(1), t.extractfile(member))
                n += 1
sys.exit(0 if n else 1)
PY
    compgen -G "$tmp/out/lib/flink-dist-*.jar" >/dev/null || die "$archive has no lib/flink-dist-*.jar"
    rm -rf "$dest"
    mv "$tmp/out" "$dest"
    say "extracted into $dest:"
    (cd "$dest" && find . -name '*.jar' | sort | sed 's|^\./|    |') >&2
}

have_jars() { compgen -G "$1/lib/flink-dist-*.jar" >/dev/null; }

command -v javac >/dev/null 2>&1 || die "javac not found (a JDK 11+ is needed)"
[ "$#" -gt 0 ] && MINORS=("$@")
for m in "${MINORS[@]}"; do
    [ -n "${RELEASE[$m]:-}" ] || die "unknown Flink minor $m (known: ${!RELEASE[*]})"
done

mkdir -p "$CACHE" "$OUT"
CLASSES="$CACHE/options-classes"
rm -rf "$CLASSES"
mkdir -p "$CLASSES"
javac -d "$CLASSES" "$SRC"

for m in "${MINORS[@]}"; do
    v="${RELEASE[$m]}"
    dest="$CACHE/options-$v"
    if ! have_jars "$dest"; then
        if ! archive="$(archive_of "$v")"; then
            download "$v"
            archive="$(archive_of "$v")" || die "pip download left no archive for $v in $WHEELS"
        fi
        say "Flink $v: extracting from $archive"
        extract "$v" "$archive" "$dest"
    fi

    # Jars to scan, flink-dist first; log4j only on the classpath.
    scan=("$dest"/lib/flink-dist-*.jar)
    args=(--exclude org.apache.flink.connector.)
    for j in "$dest"/lib/flink-statebackend-*.jar; do [ -e "$j" ] && scan+=("$j"); done
    for j in "$dest"/lib/flink-table-api-java-uber-*.jar; do
        [ -e "$j" ] || continue
        scan+=("$j")
        p=org.apache.flink.table.api.config
        args+=(--only "$j=$p.TableConfigOptions,$p.ExecutionConfigOptions,$p.OptimizerConfigOptions")
    done
    while IFS= read -r j; do scan+=("$j"); done < <(find "$dest/opt" "$dest/plugins" -name '*.jar' 2>/dev/null | sort)
    cp="$CLASSES"
    for j in "$dest"/lib/log4j-*.jar; do [ -e "$j" ] && cp="$cp:$j"; done

    say "Flink $v: scanning ${scan[*]##*/}"
    tmp="$(mktemp)"
    log="$dest/catalog.log"
    java -cp "$cp" OptionCatalog "${args[@]}" "${scan[@]}" >"$tmp" 2>"$log" || {
        cat "$log" >&2
        rm -f "$tmp"
        die "OptionCatalog failed for $v"
    }
    others=""
    for j in "${scan[@]:1}"; do
        others="$others${others:+, }${j##*/}"
        case "$j" in *flink-table-api-java-uber-*) others="$others [table.* config classes only]" ;; esac
    done
    {
        printf '# key\ttype\tdeprecated_keys\tenum_values\tstatus\n'
        printf '# source: %s (+ %s scanned), ConfigOption fields read by reflection; regenerate with scripts/flink-options.sh\n' \
            "${scan[0]##*/}" "${others:-no other jars}"
        cat "$tmp"
    } >"$OUT/$m.tsv.tmp"
    mv "$OUT/$m.tsv.tmp" "$OUT/$m.tsv"
    rm -f "$tmp"
    grep '^# jar \|^# total\|^# undetermined\|^# type conflict\|^# skipped' "$log" | sed "s/^# /    /" >&2 || true
    say "Flink $v: $(grep -vc '^#' "$OUT/$m.tsv") options → ${OUT#"$ROOT"/}/$m.tsv (log: $log)"
done
