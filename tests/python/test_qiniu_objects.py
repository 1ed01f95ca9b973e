"""The unmodified `qiniu` SDK on Ferrotype's Qiniu object surface: resumable uploads (v1 and
v2), resource management (rs, batch), listing (rsf), region discovery (uc), the put policy
and the upload callback. Every call finds its hosts from the uc host alone."""

import base64
import hashlib
import http.server
import io
import json
import os
import struct
import threading
import time
import zlib

import pytest
import qiniu
import requests
from qiniu import config as qiniu_config
from qiniu.services.storage.upload_progress_recorder import UploadProgressRecorder
from qiniu.utils import etag_stream

from conftest import fixture_bytes, image_size

BUCKET = "qrs"
MIB = 1024 * 1024


@pytest.fixture()
def auth(server):
    # The uc host alone: up, rs, rsf and api hosts come from its region query.
    qiniu_config.set_default(default_uc_host=server.url, default_api_host=server.url)
    return qiniu.Auth(*server.key(f"{BUCKET}:rw", "qlist:rw", "results:rw"))


def entry(bucket, key):
    return base64.urlsafe_b64encode(f"{bucket}:{key}".encode()).decode()


def bmp(width, height):
    """An uncompressed 24-bit BMP of a gradient (about 3 bytes a pixel): a big, valid image."""
    row = bytearray()
    for x in range(width):
        row += bytes((x % 256, (x * 3) % 256, 128))
    row += b"\0" * ((4 - len(row) % 4) % 4)
    pixels = bytes(row) * height
    header = struct.pack("<2sIHHI", b"BM", 54 + len(pixels), 0, 0, 54)
    info = struct.pack("<IiiHHIIiiII", 40, width, height, 1, 24, 0, len(pixels), 2835, 2835, 0, 0)
    return header + info + pixels


def with_exif(jpeg, make=b"Ferrotype\0"):
    """The JPEG with an APP1 EXIF segment naming its camera's make."""
    ifd = struct.pack("<HHHII", 1, 0x010F, 2, len(make), 26) + struct.pack("<I", 0)
    payload = b"Exif\0\0" + b"II*\x00" + struct.pack("<I", 8) + ifd + make
    return jpeg[:2] + b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload + jpeg[2:]


def wait_for_status(auth, persistent_id, timeout=60):
    pfop = qiniu.PersistentFop(auth, BUCKET)
    deadline = time.time() + timeout
    while True:
        ret, info = pfop.get_status(persistent_id)
        assert ret is not None, info
        if ret["code"] in (0, 3, 4) or time.time() > deadline:
            return ret
        time.sleep(0.2)


@pytest.fixture(scope="module")
def big_image(tmp_path_factory):
    path = tmp_path_factory.mktemp("big") / "big.bmp"
    path.write_bytes(bmp(1800, 1800))  # 9.3 MiB: over the SDK's 8 MiB form threshold
    return path


@pytest.mark.parametrize("version", ["v1", "v2"])
def test_put_file_over_the_form_threshold_runs_its_persistent_ops(server, auth, big_image, version):
    key = f"resumable/{version}.bmp"
    target = f"resumable/{version}-w100.jpg"
    ops = f"imageMogr2/thumbnail/100x/format/jpg|saveas/{entry('results', target)}"
    token = auth.upload_token(BUCKET, key, 3600, {"persistentOps": ops})
    ret, info = qiniu.put_file(token, key, str(big_image), version=version, bucket_name=BUCKET)
    assert info.status_code == 200, info
    assert ret["key"] == key
    assert ret["hash"] == qiniu.etag(str(big_image))
    assert server.path(BUCKET, key).read_bytes() == big_image.read_bytes()
    status = wait_for_status(auth, ret["persistentId"])
    assert status["code"] == 0, status
    assert image_size(server.path("results", target).read_bytes())[0] == 100
    # No block or part is left behind once the file is made.
    uploads = server.path(BUCKET, ".ferrotype") / "uploads"
    assert not [p for p in uploads.rglob("*") if p.is_file()]


@pytest.mark.parametrize("version", ["v1", "v2"])
def test_put_stream_of_unknown_key_is_stored_under_its_hash(server, auth, version, tmp_path):
    data = bmp(1400 + (version == "v2"), 1300)  # 5.2 MiB: over one 4 MiB block
    path = tmp_path / "stream.bmp"
    path.write_bytes(data)
    target = f"stream/{version}-w80.png"
    ops = f"imageMogr2/thumbnail/80x/format/png|saveas/{entry('results', target)}"
    token = auth.upload_token(BUCKET, None, 3600, {"persistentOps": ops})
    with open(path, "rb") as stream:
        ret, info = qiniu.put_stream(
            token, None, stream, "stream.bmp", len(data), version=version,
            bucket_name=BUCKET, part_size=2 * MIB if version == "v2" else None)
    assert info.status_code == 200, info
    assert ret["key"] == ret["hash"] == qiniu.etag(str(path))
    assert server.path(BUCKET, ret["key"]).read_bytes() == data
    status = wait_for_status(auth, ret["persistentId"])
    assert status["code"] == 0, status
    assert image_size(server.path("results", target).read_bytes())[0] == 80


def test_a_200_mib_upload_is_stored_whole(server, auth, tmp_path):
    path = tmp_path / "large.bin"
    with open(path, "wb") as out:
        for _ in range(200):
            out.write(os.urandom(MIB))
    token = auth.upload_token(BUCKET, "large/200.bin", 3600)
    ret, info = qiniu.put_file(token, "large/200.bin", str(path), version="v2",
                               bucket_name=BUCKET, part_size=8 * MIB)
    assert info.status_code == 200, info
    assert ret["hash"] == qiniu.etag(str(path))
    manager = qiniu.BucketManager(auth)
    stat, info = manager.stat(BUCKET, "large/200.bin")
    assert stat["fsize"] == 200 * MIB and stat["hash"] == ret["hash"], info
    manager.delete(BUCKET, "large/200.bin")


class Stop(Exception):
    pass


@pytest.mark.parametrize("version", ["v1", "v2"])
def test_an_interrupted_upload_resumes_where_it_stopped(server, auth, version, tmp_path):
    path = tmp_path / "resume.bin"
    data = os.urandom(12 * MIB)
    path.write_bytes(data)
    key = f"resume/{version}.bin"
    token = auth.upload_token(BUCKET, key, 3600)
    (tmp_path / "records").mkdir()
    recorder = UploadProgressRecorder(str(tmp_path / "records"))

    def stop_after_two(uploaded, total):
        if uploaded >= 8 * MIB:
            raise Stop()

    with pytest.raises(Stop):
        qiniu.put_file(token, key, str(path), version=version, bucket_name=BUCKET,
                       upload_progress_recorder=recorder, progress_handler=stop_after_two)
    assert not server.path(BUCKET, key).exists()
    seen = []
    ret, info = qiniu.put_file(token, key, str(path), version=version, bucket_name=BUCKET,
                               upload_progress_recorder=recorder,
                               progress_handler=lambda up, total: seen.append(up))
    assert info.status_code == 200, info
    assert seen and seen[0] > 4 * MIB, "the second run started after the blocks already sent"
    assert server.path(BUCKET, key).read_bytes() == data


def put(auth, key, data, policy=None, **kwargs):
    token = auth.upload_token(BUCKET, key, 3600, policy)
    return qiniu.put_data(token, key, data, **kwargs)


def test_bucket_manager_stat_copy_move_change_mime_delete(server, auth):
    manager = qiniu.BucketManager(auth)
    ret, info = put(auth, "rs/a.txt", b"hello", metadata={"x-qn-meta-color": "red"})
    assert info.status_code == 200, info
    stat, info = manager.stat(BUCKET, "rs/a.txt")
    assert info.status_code == 200, info
    assert stat["fsize"] == 5 and stat["hash"] == ret["hash"]
    assert stat["mimeType"] == "text/plain"
    assert stat["putTime"] > 1.6e16 and stat["type"] == 0
    assert stat["x-qn-meta"] == {"color": "red"}
    _, info = manager.copy(BUCKET, "rs/a.txt", BUCKET, "rs/b.txt")
    assert info.status_code == 200, info
    _, info = manager.copy(BUCKET, "rs/a.txt", BUCKET, "rs/b.txt")
    assert info.status_code == 614, info
    _, info = manager.copy(BUCKET, "rs/a.txt", BUCKET, "rs/b.txt", force="true")
    assert info.status_code == 200, info
    _, info = manager.move(BUCKET, "rs/b.txt", "results", "rs/c.txt")
    assert info.status_code == 200, info
    assert not server.path(BUCKET, "rs/b.txt").exists()
    assert server.path("results", "rs/c.txt").read_bytes() == b"hello"
    _, info = manager.change_mime(BUCKET, "rs/a.txt", "application/x-greeting")
    assert info.status_code == 200, info
    assert manager.stat(BUCKET, "rs/a.txt")[0]["mimeType"] == "application/x-greeting"
    _, info = manager.delete(BUCKET, "rs/a.txt")
    assert info.status_code == 200, info
    _, info = manager.stat(BUCKET, "rs/a.txt")
    assert info.status_code == 612 and "no such file or directory" in info.error, info
    _, info = manager.delete(BUCKET, "rs/a.txt")
    assert info.status_code == 612, info
    _, info = manager.stat("nosuchbucket", "x")
    assert info.status_code == 631 and "no such bucket" in info.error, info


def test_a_batch_of_1000_mixed_operations(server, auth):
    manager = qiniu.BucketManager(auth)
    for i in range(5):
        assert put(auth, f"batch/{i}.txt", f"file {i}".encode())[1].status_code == 200
    ops = qiniu.build_batch_stat(BUCKET, [f"batch/{i % 5}.txt" for i in range(995)])
    ops += qiniu.build_batch_copy(BUCKET, {"batch/0.txt": "batch/copy.txt"}, BUCKET)
    ops += qiniu.build_batch_delete(BUCKET, ["batch/1.txt", "batch/missing.txt"])
    ops += qiniu.build_batch_move(BUCKET, {"batch/2.txt": "batch/moved.txt"}, BUCKET)
    ops += qiniu.build_batch_stat(BUCKET, ["batch/none.txt"])
    assert len(ops) == 1000
    _, info = manager.batch(ops)
    # The SDK hands back the body of a 200 only: a partial result is read from the response.
    assert info.status_code == 298, info
    ret = json.loads(info.text_body)
    codes = [r["code"] for r in ret]
    assert codes[:995] == [200] * 995
    assert ret[0]["data"]["fsize"] == len(b"file 0")
    assert codes[995:] == [200, 200, 612, 200, 612]
    assert ret[997]["data"]["error"]
    assert server.path(BUCKET, "batch/moved.txt").exists()
    ret, info = manager.batch(qiniu.build_batch_stat(BUCKET, ["batch/0.txt"]))
    assert info.status_code == 200 and ret[0]["code"] == 200, info
    too_many = qiniu.build_batch_stat(BUCKET, ["batch/0.txt"] * 1001)
    assert manager.batch(too_many)[1].status_code == 400


def test_list_2500_keys_with_a_delimiter(server, auth):
    folder = server.path("qlist", "")
    for i in range(2500):
        sub = folder / f"d{i % 3}" if i % 5 else folder
        sub.mkdir(parents=True, exist_ok=True)
        (sub / f"k{i:04}.txt").write_bytes(b"x" * (i % 7))
    manager = qiniu.BucketManager(auth)
    keys, marker = [], None
    while True:
        ret, eof, info = manager.list("qlist", limit=1000, marker=marker)
        assert info.status_code == 200, info
        keys += [item["key"] for item in ret["items"]]
        if eof:
            break
        marker = ret["marker"]
    assert len(keys) == 2500 and keys == sorted(keys)
    ret, eof, info = manager.list("qlist", delimiter="/")
    assert eof and sorted(ret["commonPrefixes"]) == ["d0/", "d1/", "d2/"], info
    assert len(ret["items"]) == 500
    item = ret["items"][0]
    assert set(item) >= {"key", "hash", "fsize", "mimeType", "putTime", "type"}
    ret, eof, _ = manager.list("qlist", prefix="d1/", limit=10)
    assert len(ret["items"]) == 10 and not eof
    assert all(item["key"].startswith("d1/") for item in ret["items"])


def test_region_discovery_answers_this_service_for_every_host(server):
    r = requests.get(f"{server.url}/v4/query", params={"ak": "x", "bucket": BUCKET}, timeout=10)
    assert r.status_code == 200 and r.headers["X-Reqid"]
    host = server.url.split("://", 1)[1]
    region = r.json()["hosts"][0]
    for service in ["up", "io", "rs", "rsf", "api", "uc"]:
        assert region[service]["domains"] == [host], service
    v2 = requests.get(f"{server.url}/v2/query", params={"ak": "x", "bucket": BUCKET}, timeout=10)
    assert v2.json()["up"]["src"]["main"] == [host]
    # Any bucket gets the region; the call on it answers 631 (see the BucketManager test).
    missing = requests.get(f"{server.url}/v4/query", params={"ak": "x", "bucket": "nope"}, timeout=10)
    assert missing.status_code == 200
    assert requests.get(f"{server.url}/v4/query", timeout=10).status_code == 400


def test_every_magic_variable_of_the_return_body(server, auth):
    body = {
        "bucket": "$(bucket)", "key": "$(key)", "etag": "$(etag)", "fname": "$(fname)",
        "fprefix": "$(fprefix)", "fsize": "$(fsize)", "mimeType": "$(mimeType)", "ext": "$(ext)",
        "endUser": "$(endUser)", "uuid": "$(uuid)", "bodySha1": "$(bodySha1)",
        "year": "$(year)", "mon": "$(mon)", "day": "$(day)", "hour": "$(hour)", "min": "$(min)",
        "sec": "$(sec)", "w": "$(imageInfo.width)", "h": "$(imageInfo.height)",
        "info": "$(imageInfo)", "who": "$(x:who)", "pid": "$(persistentId)",
    }
    template = json.dumps(body).replace('"$(', "$(").replace(')"', ")")
    data = bmp(30, 20)
    policy = {"returnBody": template, "endUser": "u-7",
              "persistentOps": f"imageMogr2/format/png|saveas/{entry('results', 'magic.png')}"}
    ret, info = put(auth, "magic/pic.bmp", data, policy, params={"x:who": "me"},
                    fname="pic.bmp")
    assert info.status_code == 200, info
    assert ret["bucket"] == BUCKET and ret["key"] == "magic/pic.bmp"
    assert ret["etag"] == etag_stream(io.BytesIO(data))
    assert ret["fname"] == "pic.bmp" and ret["fprefix"] == "pic" and ret["ext"] == ".bmp"
    assert ret["fsize"] == len(data) and ret["mimeType"] == "image/bmp"
    assert ret["endUser"] == "u-7" and len(ret["uuid"]) == 36
    assert ret["bodySha1"] == hashlib.sha1(data).hexdigest()
    assert ret["year"] == time.strftime("%Y", time.gmtime()) and len(ret["sec"]) == 2
    assert (ret["w"], ret["h"]) == (30, 20)
    assert ret["info"]["format"] == "bmp" and ret["info"]["width"] == 30
    assert ret["who"] == "me" and ret["pid"]
    photo = with_exif(fixture_bytes("gopher-640x427.jpg"))
    documents = '{"make":$(exif.Make.val),"exif":$(exif),"cm":$(imageInfo.colorModel),"size":$(imageInfo.size)}'
    ret, info = put(auth, "magic/exif.jpg", photo, {"returnBody": documents})
    assert info.status_code == 200, info
    assert "Ferrotype" in ret["make"] and ret["exif"]["Make"]["type"] == 2
    assert ret["cm"] == "ycbcr" and ret["size"] == len(photo)
    ret, info = put(auth, "magic/plain.txt", b"text", {"returnBody": documents})
    assert ret == {"make": None, "exif": None, "cm": None, "size": None}, info


def test_save_key_force_save_key_and_scopes(server, auth):
    policy = {"saveKey": "saved/$(etag)$(ext)"}
    token = auth.upload_token(BUCKET, None, 3600, policy)
    ret, info = qiniu.put_data(token, None, b"abc", fname="x.txt")
    assert info.status_code == 200, info
    assert ret["key"] == f"saved/{ret['hash']}.txt"
    forced = auth.upload_token(BUCKET, None, 3600, {"saveKey": "forced/$(fname)", "forceSaveKey": True})
    ret, info = qiniu.put_data(forced, "mine.txt", b"abc", fname="f.txt")
    assert info.status_code == 200 and ret["key"] == "forced/f.txt", info
    prefix = auth.upload_token(f"{BUCKET}:pre/", None, 3600, {"isPrefixalScope": 1})
    ret, info = qiniu.put_data(prefix, "pre/a.txt", b"1")
    assert info.status_code == 200, info
    _, info = qiniu.put_data(prefix, "other/a.txt", b"1")
    assert info.status_code == 403, info
    _, info = qiniu.put_data(prefix, "pre/a.txt", b"2")
    assert info.status_code == 614, info


def test_a_bucket_scope_only_adds(server, auth):
    token = auth.upload_token(BUCKET, None, 3600)
    assert qiniu.put_data(token, "only/add.txt", b"one")[1].status_code == 200
    # The same content again succeeds; other content is refused and the object is kept.
    assert qiniu.put_data(token, "only/add.txt", b"one")[1].status_code == 200
    _, info = qiniu.put_data(token, "only/add.txt", b"two")
    assert info.status_code == 614 and "file exists" in info.error, info
    assert server.path(BUCKET, "only/add.txt").read_bytes() == b"one"
    keyed = auth.upload_token(BUCKET, "only/add.txt", 3600)
    assert qiniu.put_data(keyed, "only/add.txt", b"two")[1].status_code == 200


def test_policy_refusals_keep_qiniu_codes(server, auth):
    small = {"fsizeMin": 10}
    assert put(auth, "ref/a", b"short", small)[1].status_code == 400
    limited = {"mimeLimit": "image/*"}
    _, info = put(auth, "ref/a.txt", b"text", limited)
    assert info.status_code == 403 and "mimeType" in info.error, info
    token = auth.upload_token(BUCKET, "ref/crc", 3600)
    r = requests.post(server.url + "/", files={"file": ("f", b"data")},
                      data={"token": token, "key": "ref/crc", "crc32": "1"}, timeout=10)
    assert r.status_code == 400 and r.headers["X-Reqid"], r.text
    good = zlib.crc32(b"data")
    r = requests.post(server.url + "/", files={"file": ("f", b"data")},
                      data={"token": token, "key": "ref/crc", "crc32": str(good)}, timeout=10)
    assert r.status_code == 200, r.text
    unsupported = {"returnBody": '{"a":$(avinfo)}'}
    _, info = put(auth, "ref/avinfo", b"x", unsupported)
    assert info.status_code == 400 and "avinfo" in info.error, info


def test_bad_resumable_requests_are_refused_in_qiniu_json(server, auth):
    token = auth.upload_token(BUCKET, "bad/ctx", 3600)
    headers = {"Authorization": f"UpToken {token}"}
    forged = base64.urlsafe_b64encode(b"v1:00000000000000000000000000000000:4:1:4").decode()
    r = requests.post(f"{server.url}/mkfile/4/key/{base64.urlsafe_b64encode(b'bad/ctx').decode()}",
                      data=forged, headers=headers, timeout=10)
    assert r.status_code == 701 and r.json()["error"] and r.headers["X-Reqid"], r.text
    r = requests.post(f"{server.url}/bput/{forged}/4", data=b"x", headers=headers, timeout=10)
    assert r.status_code == 701, r.text
    r = requests.post(f"{server.url}/mkblk/{8 * MIB}", data=b"x", headers=headers, timeout=10)
    assert r.status_code == 400, r.text
    other = base64.urlsafe_b64encode(b"bad/ctx").decode()
    r = requests.put(f"{server.url}/buckets/{BUCKET}/objects/{other}/uploads/0190c3b2e5d47d3aa1b2c3d4e5f60718/1",
                     data=b"x", headers=headers, timeout=10)
    assert r.status_code == 612, r.text
    r = requests.post(f"{server.url}/buckets/results/objects/{other}/uploads", headers=headers, timeout=10)
    assert r.status_code == 403, r.text
    r = requests.post(f"{server.url}/mkblk/4", data=b"abcd", headers={"Authorization": "UpToken x:y:z"},
                      timeout=10)
    assert r.status_code == 401 and r.json()["error"] == "bad token", r.text
    r = requests.post(f"{server.url}/fetch/abc", headers={"Authorization": "QBox a:b"}, timeout=10)
    assert r.headers["Content-Type"].startswith("application/json") and r.json()["error"], r.text


class CallbackHandler(http.server.BaseHTTPRequestHandler):
    answer = 200

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        headers = {name.lower(): value for name, value in self.headers.items()}
        self.server.received.append((self.path, headers, body))
        self.send_response(self.answer)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(json.dumps({"ok": True, "seen": body.decode()}).encode())

    def log_message(self, *args):
        pass


def callback_server(status=200):
    handler = type("Handler", (CallbackHandler,), {"answer": status})
    httpd = http.server.HTTPServer(("127.0.0.1", 0), handler)
    httpd.received = []
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd


def test_an_upload_callback_is_signed_and_its_answer_returned(server, auth):
    good, bad = callback_server(), callback_server(500)
    try:
        urls = f"http://127.0.0.1:{bad.server_port}/cb;http://127.0.0.1:{good.server_port}/cb?x=1"
        policy = {"callbackUrl": urls, "callbackBody": "key=$(key)&fsize=$(fsize)&who=$(x:who)",
                  "callbackHost": "app.example"}
        ret, info = put(auth, "cb/form.txt", b"hello", policy, params={"x:who": "a b"})
        assert info.status_code == 200, info
        assert ret == {"ok": True, "seen": "key=cb%2Fform.txt&fsize=5&who=a+b"}
        assert len(bad.received) == 1
        path, headers, body = good.received[0]
        assert headers["host"] == "app.example"
        assert auth.verify_callback(headers["authorization"], f"http://127.0.0.1{path}", body.decode())
        json_policy = {"callbackUrl": f"http://127.0.0.1:{good.server_port}/j",
                       "callbackBody": '{"key":$(key),"size":$(fsize)}',
                       "callbackBodyType": "application/json"}
        ret, info = put(auth, "cb/json.txt", b"hey", json_policy)
        assert info.status_code == 200 and json.loads(ret["seen"]) == {"key": "cb/json.txt", "size": 3}
        _, headers, body = good.received[-1]
        assert headers["content-type"] == "application/json"
        assert auth.verify_callback(headers["authorization"], "http://127.0.0.1/j", body.decode(),
                                    content_type="application/json")
        failing = {"callbackUrl": f"http://127.0.0.1:{bad.server_port}/cb", "callbackBody": "k=$(key)"}
        _, info = put(auth, "cb/fails.txt", b"x", failing)
        assert info.status_code == 579, info
        assert server.path(BUCKET, "cb/fails.txt").exists()
    finally:
        good.shutdown()
        bad.shutdown()


def test_a_pipeline_created_through_the_native_api_takes_jobs(server, auth):
    admin = server.key("*:rw")
    r = requests.put(f"{server.url}/v1/pipelines/qiniu-fast", auth=admin, timeout=10)
    assert r.status_code == 201, r.text
    assert requests.put(f"{server.url}/v1/pipelines/qiniu-fast", auth=admin, timeout=10).status_code == 200
    listed = requests.get(f"{server.url}/v1/pipelines", auth=admin, timeout=10).json()["pipelines"]
    assert {"name": "default", "origin": "config"} in listed
    assert any(p["name"] == "qiniu-fast" and p["origin"] == "created" for p in listed)
    bucket_only = server.key(f"{BUCKET}:rw")
    assert requests.put(f"{server.url}/v1/pipelines/mine", auth=bucket_only, timeout=10).status_code == 403
    assert requests.put(f"{server.url}/v1/pipelines/bad%20name", auth=admin, timeout=10).status_code == 400
    assert requests.delete(f"{server.url}/v1/pipelines/default", auth=admin, timeout=10).status_code == 400

    data = fixture_bytes("gopher-640x427.jpg")
    ops = f"imageMogr2/thumbnail/50x|saveas/{entry('results', 'pipe/up.jpg')}"
    ret, info = put(auth, "pipe/g.jpg", data, {"persistentOps": ops, "persistentPipeline": "qiniu-fast"})
    assert info.status_code == 200, info
    status = wait_for_status(auth, ret["persistentId"])
    assert status["code"] == 0 and status["pipeline"] == "qiniu-fast", status
    pfop = qiniu.PersistentFop(auth, BUCKET, pipeline="qiniu-fast")
    ret, info = pfop.execute("pipe/g.jpg", [f"imageMogr2/thumbnail/40x|saveas/{entry('results', 'pipe/p.jpg')}"])
    assert info.status_code == 200, info
    assert wait_for_status(auth, ret["persistentId"])["code"] == 0
    unknown = qiniu.PersistentFop(auth, BUCKET, pipeline="no-such-queue")
    _, info = unknown.execute("pipe/g.jpg", ["imageMogr2/thumbnail/40x"])
    assert info.status_code == 404 and "pipeline" in info.error, info
    assert requests.delete(f"{server.url}/v1/pipelines/qiniu-fast", auth=admin, timeout=10).status_code == 204
    _, info = pfop.execute("pipe/g.jpg", ["imageMogr2/thumbnail/40x"])
    assert info.status_code == 404, info


def test_the_empty_key_is_a_key(server, auth):
    token = auth.upload_token(BUCKET, None, 3600)
    ret, info = qiniu.put_data(token, "", b"no name")
    assert info.status_code == 200 and ret["key"] == "", info
    manager = qiniu.BucketManager(auth)
    stat, info = manager.stat(BUCKET, "")
    assert info.status_code == 200 and stat["fsize"] == 7, info
    assert server.path(BUCKET, "%").read_bytes() == b"no name"
    assert manager.delete(BUCKET, "")[1].status_code == 200
