"""Starts one `ferrotype serve` (the debug binary cargo built) for the session, with its own
database, queue prefix, data dir and port, and issues access keys with `ferrotype keys create`.
The tests drive it with the unmodified PyPI SDKs (`oss2`, `qiniu`)."""

import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BINARY = Path(os.environ.get("FERROTYPE_BIN", ROOT / "target" / "debug" / "ferrotype"))
POSTGRES = os.environ.get("TEST_POSTGRES_SERVER", "postgres://postgres@127.0.0.1:5432")
AMQP = os.environ.get("AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/%2f")


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


S3_BIN = Path(os.environ.get("FERROTYPE_TEST_S3_BIN",
                            shutil.which("s3s-fs") or Path.home() / ".cargo" / "bin" / "s3s-fs"))
# The bucket the tests reach through Ferrotype's S3 backend, and its name on the S3 server.
S3_BUCKET = "s3photos"
# The folder buckets the tests use, made before the server starts (as PutBucket would: the OSS
# surface answers NoSuchBucket for a bucket that does not exist).
FOLDER_BUCKETS = ["photos", "results", "getp", "prot", "pubr", "qdl", "sepr", "slow", "qrs", "qlist", "imm"]


def wait_for_port(port, process, what):
    deadline = time.time() + 30
    while time.time() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{what} did not listen on {port}")


class S3Server:
    """A real S3-compatible server (s3s-fs, a folder behind the S3 wire protocol), its own
    folder and port: what Ferrotype's S3-backed bucket talks to over HTTP."""

    def __init__(self):
        if not S3_BIN.exists():
            pytest.fail(f"{S3_BIN} is missing: scripts/test installs it (cargo install s3s-fs)")
        self.root = Path(tempfile.mkdtemp(prefix="ferrotype-s3-"))
        (self.root / S3_BUCKET).mkdir()
        self.port = free_port()
        self.access_key, self.secret_key = "ferrotypetest", uuid.uuid4().hex
        self.log = open(self.root.parent / f"{self.root.name}.log", "wb")
        self.process = subprocess.Popen(
            [str(S3_BIN), "--host", "127.0.0.1", "--port", str(self.port),
             "--access-key", self.access_key, "--secret-key", self.secret_key, str(self.root)],
            stdout=self.log, stderr=self.log,
        )
        wait_for_port(self.port, self.process, "s3s-fs")

    def config(self):
        return (
            f"[buckets.{S3_BUCKET}]\nkind = \"s3\"\nendpoint = \"http://127.0.0.1:{self.port}\"\n"
            f"bucket = \"{S3_BUCKET}\"\naccess_key_id = \"{self.access_key}\"\n"
            f"allow_http = true\n"
        )

    def secret_variable(self):
        """The bucket's secret as an operator keeps it out of the file: a nested variable."""
        return f"FERROTYPE_BUCKETS__{S3_BUCKET.upper()}__SECRET_ACCESS_KEY", self.secret_key

    def stop(self):
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self.log.close()
        shutil.rmtree(self.root, ignore_errors=True)


class Server:
    def __init__(self, s3=None):
        tag = uuid.uuid4().hex
        self.data_dir = Path(tempfile.mkdtemp(prefix="ferrotype-py-"))
        for bucket in FOLDER_BUCKETS:
            (self.data_dir / bucket).mkdir()
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = dict(
            os.environ,
            DATABASE_URL=f"{POSTGRES}/ferrotype_py_{tag}",
            AMQP_URL=AMQP,
            FERROTYPE_QUEUE_PREFIX=f"ferrotype-py-{tag}",
            FERROTYPE_DATA_DIR=str(self.data_dir),
            FERROTYPE_LISTEN=f"127.0.0.1:{self.port}",
            FERROTYPE_NOTIFY_BACKOFF_MS="100",
            # `<bucket>.oss.test` addresses a bucket, virtual-hosted (sent as a Host header).
            FERROTYPE_OSS_DOMAINS="oss.test",
            RUST_LOG=os.environ.get("RUST_LOG", "warn"),
        )
        self.s3 = s3
        if s3 is not None:
            config = self.data_dir / "ferrotype.toml"
            config.write_text(s3.config())
            self.env["FERROTYPE_CONFIG"] = str(config)
            name, secret = s3.secret_variable()
            self.env[name] = secret
        self.log = open(self.data_dir / "server.log", "wb")
        self.process = None

    def run(self, *args):
        out = subprocess.run(
            [str(BINARY), *args], env=self.env, check=True, capture_output=True
        )
        return out.stdout.decode()

    def start(self):
        self.run("migrate")
        self.process = subprocess.Popen(
            [str(BINARY), "serve"], env=self.env, stdout=self.log, stderr=self.log
        )
        deadline = time.time() + 60
        while time.time() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError("ferrotype serve exited: see " + str(self.log.name))
            try:
                with urllib.request.urlopen(self.url + "/healthz", timeout=1) as r:
                    if r.status == 200:
                        return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("ferrotype serve did not become healthy")

    def key(self, *grants):
        line = self.run("keys", "create", *[a for g in grants for a in ("--grant", g)])
        parsed = json.loads(line.strip().splitlines()[-1])
        return parsed["access_key"], parsed["secret_key"]

    def sql(self, query):
        """One value from the service's own database."""
        out = subprocess.run(
            ["psql", self.env["DATABASE_URL"], "-tAc", query],
            check=True, capture_output=True,
        )
        return out.stdout.decode().strip()

    def path(self, bucket, key):
        return self.data_dir / bucket / key

    def stop(self):
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
        self.log.close()
        subprocess.run(
            ["psql", POSTGRES + "/postgres", "-qc",
             f"DROP DATABASE IF EXISTS \"{self.env['DATABASE_URL'].rsplit('/', 1)[1]}\" WITH (FORCE)"],
            capture_output=True,
        )
        shutil.rmtree(self.data_dir, ignore_errors=True)


@pytest.fixture(scope="session")
def server():
    if not BINARY.exists():
        pytest.fail(f"{BINARY} is missing: run cargo build first")
    s3 = S3Server()
    srv = Server(s3)
    srv.start()
    yield srv
    srv.stop()
    s3.stop()


@pytest.fixture(scope="session")
def keys(server):
    """A key with read/write on photos and results, and one that may only read results."""
    return {
        "rw": server.key("photos:rw", "results:rw", f"{S3_BUCKET}:rw"),
        "readonly_target": server.key("photos:rw", "results:r"),
    }


def fixture_bytes(name):
    return (ROOT / "fixtures" / name).read_bytes()


def image_size(data):
    """Width and height of a PNG, JPEG, AVIF or HEIC (its `clap` or `ispe` box), without
    third-party imaging libraries."""
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    if data[4:8] == b"ftyp":
        number = lambda at: int.from_bytes(data[at:at + 4], "big")
        if b"clap" in data:  # a clean aperture: HEVC's even-sized picture cropped to the image
            at = data.index(b"clap") + 4
            return number(at) // number(at + 4), number(at + 8) // number(at + 12)
        at = data.index(b"ispe") + 8
        return number(at), number(at + 4)
    i = 2
    while i < len(data):
        marker = data[i + 1]
        length = int.from_bytes(data[i + 2:i + 4], "big")
        if marker in (0xC0, 0xC1, 0xC2):
            h = int.from_bytes(data[i + 5:i + 7], "big")
            w = int.from_bytes(data[i + 7:i + 9], "big")
            return w, h
        i += 2 + length
    raise ValueError("not a PNG, JPEG, AVIF or HEIC")
