"""The unmodified `qiniu` SDK against Ferrotype's Qiniu surface."""

import base64
import http.server
import json
import queue
import threading
import time

import pytest
import qiniu
import requests
from qiniu import config as qiniu_config

from conftest import fixture_bytes, image_size


def entry(bucket, key):
    return base64.urlsafe_b64encode(f"{bucket}:{key}".encode()).decode()


@pytest.fixture()
def sdk(server, keys):
    qiniu_config.set_default(default_api_host=server.url)
    return qiniu.Auth(*keys["rw"])


def up(server):
    return [qiniu.Region(up_host=server.url)]


def wait_for_status(pfop, persistent_id, timeout=30):
    deadline = time.time() + timeout
    while True:
        ret, info = pfop.get_status(persistent_id)
        assert ret is not None, info
        if ret["code"] in (0, 3, 4) or time.time() > deadline:
            return ret
        time.sleep(0.1)


def test_put_data_with_persistent_ops_returns_a_persistent_id(server, sdk):
    ops = ";".join([
        f"imageMogr2/thumbnail/200x|saveas/{entry('results', 'up/w200.jpg')}",
        f"imageMogr2/thumbnail/x50/format/png|saveas/{entry('results', 'up/h50.png')}",
    ])
    token = sdk.upload_token("photos", "up/gopher.jpg", 3600, {"persistentOps": ops})
    ret, info = qiniu.put_data(
        token, "up/gopher.jpg", fixture_bytes("gopher-640x427.jpg"), regions=up(server)
    )
    assert info.status_code == 200, info
    assert ret["key"] == "up/gopher.jpg"
    assert ret["hash"]
    assert ret["persistentId"]
    status = wait_for_status(qiniu.PersistentFop(sdk, "photos"), ret["persistentId"])
    assert status["code"] == 0, status
    assert status["desc"] == "The fop was completed successfully"
    assert [i["key"] for i in status["items"]] == ["up/w200.jpg", "up/h50.png"]
    assert image_size(server.path("results", "up/w200.jpg").read_bytes())[0] == 200
    assert image_size(server.path("results", "up/h50.png").read_bytes())[1] == 50


def test_pfop_on_an_existing_key_and_its_status(server, sdk):
    token = sdk.upload_token("photos", "pf/gopher.jpg", 3600)
    ret, info = qiniu.put_data(
        token, "pf/gopher.jpg", fixture_bytes("gopher-640x427.jpg"), regions=up(server)
    )
    assert info.status_code == 200, info
    pfop = qiniu.PersistentFop(sdk, "photos")
    fops = [
        f"imageMogr2/thumbnail/100x|saveas/{entry('results', 'pf/a.jpg')}",
        f"imageMogr2/thumbnail/60x|saveas/{entry('results', 'pf/b.jpg')}",
    ]
    ret, info = pfop.execute("pf/gopher.jpg", fops, force=1)
    assert info.status_code == 200, info
    assert info.req_id
    persistent_id = ret["persistentId"]
    status = wait_for_status(pfop, persistent_id)
    assert status["code"] == 0, status
    assert status["id"] == persistent_id
    assert status["inputBucket"] == "photos"
    assert status["inputKey"] == "pf/gopher.jpg"
    assert "creationDate" in status and "reqid" in status and status["type"] == 0
    items = status["items"]
    assert [i["key"] for i in items] == ["pf/a.jpg", "pf/b.jpg"]
    for item in items:
        assert item["code"] == 0
        assert item["desc"] == "The fop was completed successfully"
        assert item["error"] == ""
        assert item["hash"]
        assert item["returnOld"] == 0


def test_force_and_return_old(server, sdk):
    token = sdk.upload_token("photos", "ro/gopher.jpg", 3600)
    qiniu.put_data(token, "ro/gopher.jpg", fixture_bytes("gopher-640x427.jpg"), regions=up(server))
    pfop = qiniu.PersistentFop(sdk, "photos")
    fops = [f"imageMogr2/thumbnail/90x|saveas/{entry('results', 'ro/t.jpg')}"]
    first = wait_for_status(pfop, pfop.execute("ro/gopher.jpg", fops)[0]["persistentId"])
    assert first["items"][0]["returnOld"] == 0
    # The same command on the same bytes to the same target: the old result is returned.
    again = wait_for_status(pfop, pfop.execute("ro/gopher.jpg", fops)[0]["persistentId"])
    assert again["code"] == 0
    assert again["items"][0]["returnOld"] == 1
    assert again["items"][0]["hash"] == first["items"][0]["hash"]
    # force=1 redoes it.
    forced = wait_for_status(pfop, pfop.execute("ro/gopher.jpg", fops, force=1)[0]["persistentId"])
    assert forced["code"] == 0
    assert forced["items"][0]["returnOld"] == 0
    # A result that is no longer in the bucket is made again, not "returned".
    server.path("results", "ro/t.jpg").unlink()
    remade = wait_for_status(pfop, pfop.execute("ro/gopher.jpg", fops)[0]["persistentId"])
    assert remade["code"] == 0
    assert remade["items"][0]["returnOld"] == 0
    assert server.path("results", "ro/t.jpg").exists()


def test_a_failed_item_reports_its_error(server, sdk):
    pfop = qiniu.PersistentFop(sdk, "photos")
    ret, info = pfop.execute("missing/none.jpg", [f"imageMogr2/thumbnail/90x|saveas/{entry('results', 'x.jpg')}"])
    assert info.status_code == 200, info
    status = wait_for_status(pfop, ret["persistentId"])
    assert status["code"] == 3
    assert status["desc"] == "The fop is failed"
    item = status["items"][0]
    assert item["code"] == 3 and item["error"] and "errorIndex" in item


def test_unknown_id_is_612(server, sdk):
    ret, info = qiniu.PersistentFop(sdk, "photos").get_status("no-such-id")
    assert ret is None
    assert info.status_code == 612
    assert info.req_id
    assert "no such id" in info.text_body


def test_a_notify_server_receives_the_status_json(server, sdk):
    received = queue.Queue()

    class Receiver(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.put((self.headers["Content-Type"], json.loads(body)))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    httpd = http.server.HTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        token = sdk.upload_token("photos", "nt/gopher.jpg", 3600)
        qiniu.put_data(token, "nt/gopher.jpg", fixture_bytes("gopher-640x427.jpg"), regions=up(server))
        notify_url = f"http://127.0.0.1:{httpd.server_port}/cb"
        pfop = qiniu.PersistentFop(sdk, "photos", notify_url=notify_url)
        ret, info = pfop.execute(
            "nt/gopher.jpg", [f"imageMogr2/thumbnail/70x|saveas/{entry('results', 'nt/t.jpg')}"]
        )
        assert info.status_code == 200, info
        content_type, body = received.get(timeout=30)
        assert content_type.startswith("application/json")
        assert body["id"] == ret["persistentId"]
        assert body["code"] == 0
        assert body["desc"] == "The fop was completed successfully"
        assert body["items"][0]["key"] == "nt/t.jpg"
        assert body["inputKey"] == "nt/gopher.jpg"
    finally:
        httpd.shutdown()


def test_an_expired_token_is_refused(server, sdk):
    token = sdk.upload_token("photos", "old.jpg", -10)
    ret, info = qiniu.put_data(token, "old.jpg", b"data", regions=up(server))
    assert ret is None
    assert info.status_code == 401
    assert "expired" in info.text_body
    assert info.req_id


def test_a_bad_signature_is_bad_token(server, keys):
    access, _ = keys["rw"]
    qiniu_config.set_default(default_api_host=server.url)
    wrong = qiniu.Auth(access, "wrong-secret-wrong-secret")
    ret, info = qiniu.PersistentFop(wrong, "photos").execute("x.jpg", ["imageMogr2/thumbnail/10x"])
    assert ret is None
    assert info.status_code == 401
    assert json.loads(info.text_body) == {"error": "bad token"}


def test_a_pfop_body_its_signature_does_not_cover_is_refused(server, keys):
    """QBox signs a form body only, Qiniu v2 any body but octet-stream: a signature captured
    over `/pfop` alone must not run fops sent beside it."""
    fops = f"imageMogr2/thumbnail/10x|saveas/{entry('results', 'forged.jpg')}"
    body = f"bucket=photos&key=gopher.jpg&fops={fops}"
    url = f"{server.url}/pfop"
    qbox = qiniu.Auth(*keys["rw"]).token_of_request(url)
    v2 = qiniu.QiniuMacAuth(*keys["rw"]).token_of_request(
        "POST", None, url, None, content_type="application/octet-stream"
    )
    for authorization, content_type in [
        (f"QBox {qbox}", "text/plain"),
        (f"QBox {qbox}", None),
        (f"Qiniu {v2}", "application/octet-stream"),
    ]:
        headers = {"Authorization": authorization}
        if content_type:
            headers["Content-Type"] = content_type
        r = requests.post(url, data=body.encode(), headers=headers, timeout=10)
        assert r.status_code == 401, (authorization, content_type, r.text)
        assert r.json() == {"error": "bad token"}
    assert not server.path("results", "forged.jpg").exists()


def test_return_body_and_insert_only(server, sdk):
    policy = {
        "returnBody": '{"k":$(key),"h":$(hash),"s":$(fsize),"v":$(x:who)}',
        "insertOnly": 1,
    }
    token = sdk.upload_token("photos", "rb/one.bin", 3600, policy)
    ret, info = qiniu.put_data(token, "rb/one.bin", b"12345", params={"x:who": "me"}, regions=up(server))
    assert info.status_code == 200, info
    assert ret["k"] == "rb/one.bin" and ret["s"] == 5 and ret["v"] == "me" and ret["h"]
    # Insert-only: other content under the key is refused, the same content succeeds (Qiniu).
    ret, info = qiniu.put_data(token, "rb/one.bin", b"67890", regions=up(server))
    assert info.status_code == 614
    ret, info = qiniu.put_data(token, "rb/one.bin", b"12345", regions=up(server))
    assert info.status_code == 200, info


def test_fsize_limit_is_413(server, sdk):
    token = sdk.upload_token("photos", "big.bin", 3600, {"fsizeLimit": 3})
    ret, info = qiniu.put_data(token, "big.bin", b"12345", regions=up(server))
    assert info.status_code == 413
