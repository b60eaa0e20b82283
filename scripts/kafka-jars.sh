#!/usr/bin/env bash
# Fetch Kafka's Java client (kafka-clients) and its runtime dependencies (slf4j-api and the
# compression libraries a KafkaProducer loads for compression.type), for tests/kafka_clients.rs,
# which checks flinkgen's producer and consumer properties with Kafka's own ProducerConfig /
# ConsumerConfig / KafkaProducer / KafkaConsumer.
#
# The jars come from PyPI's shigawire-apache-flink-libraries package (a redistribution of
# flink-connector-kafka 4.0.x and its dependencies for PyFlink), downloaded with pip. It ships
# the plain, unshaded kafka-clients jar (Kafka 3.9.1, the client of connector 4.0.1) with the
# versions of its dependencies that kafka-clients 3.9.1 declares. Only
#     pyflink/lib/{kafka-clients,slf4j-api,lz4-java,snappy-java,zstd-jni}.jar
# are kept, in
#     ${FLINKGEN_CACHE:-$HOME/.cache/flinkgen}/kafka-clients/
# with a VERSION file naming the Kafka client version. The downloaded wheel stays in
# $CACHE/wheels. Idempotent: jars that are present and match the pinned checksums are left
# alone, and a wheel already in $CACHE/wheels is not downloaded again.
set -euo pipefail

PACKAGE=shigawire-apache-flink-libraries
PACKAGE_VERSION=2.0.0.post1
WHEEL_NAME="shigawire_apache_flink_libraries-$PACKAGE_VERSION-py3-none-any.whl"
KAFKA_VERSION=3.9.1
# sha256 of the jars inside the pinned wheel.
declare -A SHA256=(
    [kafka-clients.jar]=7568b998572d256f0b7bc0afdc1b7a2588b8b08415c62ce314c864a6851ae9d9
    [slf4j-api.jar]=d3ef575e3e4979678dc01bf1dcce51021493b4d11fb7f1be8ad982877c16a1c0
    [lz4-java.jar]=d74a3334fb35195009b338a951f918203d6bbca3d1d359033dc33edd1cadc9ef
    [snappy-java.jar]=4c766cb3f855415ee734b2392949a0b6f12a60879334a74518deaf6270d32e36
    [zstd-jni.jar]=793ca8734aa15687e7e64564eab8b6ae9ee2720eae27aa663074682144b1c386
)

CACHE="${FLINKGEN_CACHE:-$HOME/.cache/flinkgen}"
WHEELS="$CACHE/wheels"
DEST="$CACHE/kafka-clients"

say() { echo "kafka-jars: $*"; }
die() {
    echo "kafka-jars: error: $*" >&2
    exit 1
}

command -v python3 >/dev/null 2>&1 || die "python3 is needed (pip and the jar extraction)"

pip_cmd() {
    if python3 -m pip --version >/dev/null 2>&1; then
        python3 -m pip "$@"
    elif command -v pip >/dev/null 2>&1; then
        pip "$@"
    else
        die "neither \`python3 -m pip\` nor \`pip\` is available: install pip, or put $WHEEL_NAME into $WHEELS yourself"
    fi
}

sha_of() { sha256sum "$1" | cut -d' ' -f1; }

have_jars() {
    local dir="$1" jar
    for jar in "${!SHA256[@]}"; do
        [ -s "$dir/$jar" ] || return 1
        [ "$(sha_of "$dir/$jar")" = "${SHA256[$jar]}" ] || return 1
    done
    [ "$(cat "$dir/VERSION" 2>/dev/null)" = "$KAFKA_VERSION" ]
}

if have_jars "$DEST"; then
    say "kafka-clients $KAFKA_VERSION: jars present in $DEST"
    exit 0
fi

mkdir -p "$WHEELS"
wheel="$WHEELS/$WHEEL_NAME"
if [ -s "$wheel" ]; then
    say "using $wheel"
else
    say "downloading $PACKAGE==$PACKAGE_VERSION into $WHEELS"
    log="$(mktemp)"
    if ! pip_cmd download --no-deps --only-binary=:all: "$PACKAGE==$PACKAGE_VERSION" -d "$WHEELS" >"$log" 2>&1; then
        cat "$log" >&2
        rm -f "$log"
        die "pip download $PACKAGE==$PACKAGE_VERSION failed"
    fi
    rm -f "$log"
    [ -s "$wheel" ] || die "pip download left no $WHEEL_NAME in $WHEELS"
fi

tmp="$(mktemp -d "$CACHE/.kafka-clients.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
chmod 755 "$tmp"
# A wheel is a zip; take the jars and read the client version the jar reports.
version="$(python3 - "$wheel" "$tmp" <<'PY'
import shutil, sys, zipfile
wheel, out = sys.argv[1], sys.argv[2]
jars = ["kafka-clients.jar", "slf4j-api.jar", "lz4-java.jar", "snappy-java.jar", "zstd-jni.jar"]
wanted = {f"pyflink/lib/{j}": j for j in jars}
with zipfile.ZipFile(wheel) as z:
    names = set(z.namelist())
    missing = [n for n in wanted if n not in names]
    if missing:
        sys.exit(f"{wheel} lacks {', '.join(missing)}")
    for name, target in wanted.items():
        with z.open(name) as src, open(f"{out}/{target}", "wb") as dst:
            shutil.copyfileobj(src, dst)
with zipfile.ZipFile(f"{out}/kafka-clients.jar") as jar:
    if "org/apache/kafka/clients/producer/ProducerConfig.class" not in jar.namelist():
        sys.exit("kafka-clients.jar has no org/apache/kafka/clients/producer/ProducerConfig.class")
    props = jar.read("kafka/kafka-version.properties").decode("iso-8859-1")
version = dict(l.split("=", 1) for l in props.splitlines() if "=" in l).get("version", "")
print(version.strip())
PY
)" || die "cannot extract the jars from $wheel (delete it to download it again)"
[ "$version" = "$KAFKA_VERSION" ] || die "the kafka-clients jar in $wheel is version '$version', expected $KAFKA_VERSION"
for jar in "${!SHA256[@]}"; do
    got="$(sha_of "$tmp/$jar")"
    [ "$got" = "${SHA256[$jar]}" ] || die "$jar from $wheel has sha256 $got, expected ${SHA256[$jar]}"
done
echo "$version" >"$tmp/VERSION"
rm -rf "$DEST"
mv "$tmp" "$DEST"
trap - EXIT
if [ "${FLINKGEN_DROP_ARCHIVES:-0}" = 1 ]; then
    rm -f "$wheel" # the extracted jars are the cache (see scripts/flink-jars.sh)
fi
say "kafka-clients $version and its dependencies extracted into $DEST:"
(cd "$DEST" && ls -1 ./*.jar | sed 's|^\./|    |')
