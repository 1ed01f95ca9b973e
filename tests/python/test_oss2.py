"""The unmodified `oss2` SDK against Ferrotype's OSS surface (path style)."""

import base64
import time

import oss2
import pytest

from conftest import fixture_bytes, image_size


def b64(text):
    return base64.urlsafe_b64encode(text.encode()).decode()


def bucket(server, key_pair, name="photos"):
    return oss2.Bucket(oss2.Auth(*key_pair), server.url, name, is_cname=False)


def native_job(server, key_pair, task_id):
    import requests

    r = requests.get(f"{server.url}/v1/jobs/{task_id}", auth=key_pair, timeout=10)
    r.raise_for_status()
    return r.json()


def finished_job(server, key_pair, job_id, seconds=30):
    """The native status of a job once it has ended (or after `seconds`)."""
    deadline = time.time() + seconds
    while True:
        job = native_job(server, key_pair, job_id)
        if job["code"] in (0, 3, 4) or time.time() > deadline:
            return job
        time.sleep(0.1)


def test_put_and_get_object(server, keys):
    photos = bucket(server, keys["rw"])
    data = fixture_bytes("gopher-640x427.jpg")
    put = photos.put_object("in/a b/gopher.jpg", data)
    assert put.status == 200
    assert put.etag
    assert put.request_id
    got = photos.get_object("in/a b/gopher.jpg").read()
    assert got == data
    head = photos.head_object("in/a b/gopher.jpg")
    assert head.content_length == len(data)


def test_process_object_saves_the_target(server, keys):
    photos = bucket(server, keys["rw"])
    photos.put_object("src/gopher.jpg", fixture_bytes("gopher-640x427.jpg"))
    result = photos.process_object(
        "src/gopher.jpg",
        f"image/resize,w_100|sys/saveas,o_{b64('out/w100.jpg')},b_{b64('results')}",
    )
    assert result.status == 200
    assert result.process_status == "OK"
    assert result.bucket == "results"
    assert result.object == "out/w100.jpg"
    saved = server.path("results", "out/w100.jpg").read_bytes()
    assert result.fileSize == len(saved)
    assert image_size(saved)[0] == 100
    # The target is readable through the SDK too.
    got = bucket(server, keys["rw"], "results").get_object("out/w100.jpg").read()
    assert got == saved


def test_process_object_without_bucket_saves_beside_the_source(server, keys):
    photos = bucket(server, keys["rw"])
    photos.put_object("src/g2.jpg", fixture_bytes("gopher-640x427.jpg"))
    result = photos.process_object(
        "src/g2.jpg", f"image/resize,w_100|sys/saveas,o_{b64('out/same-bucket.jpg')}"
    )
    assert result.process_status == "OK"
    assert result.bucket == ""
    assert result.object == "out/same-bucket.jpg"
    saved = server.path("photos", "out/same-bucket.jpg").read_bytes()
    assert result.fileSize == len(saved)
    assert image_size(saved)[0] == 100


def test_async_process_object_returns_a_task_that_succeeds(server, keys):
    photos = bucket(server, keys["rw"])
    photos.put_object("src/g3.jpg", fixture_bytes("gopher-640x427.jpg"))
    result = photos.async_process_object(
        "src/g3.jpg",
        f"image/resize,w_120|sys/saveas,o_{b64('out/async.jpg')},b_{b64('results')}",
    )
    assert result.task_id
    assert result.event_id
    assert result.async_request_id
    deadline = time.time() + 30
    while True:
        job = native_job(server, keys["rw"], result.task_id)
        if job["code"] in (0, 3, 4) or time.time() > deadline:
            break
        time.sleep(0.1)
    assert job["code"] == 0, job
    assert image_size(server.path("results", "out/async.jpg").read_bytes())[0] == 120


def test_a_bad_secret_is_signature_does_not_match(server, keys):
    access, _ = keys["rw"]
    wrong = bucket(server, (access, "not-the-secret-at-all"))
    with pytest.raises(oss2.exceptions.ServerError) as raised:
        wrong.get_object("src/gopher.jpg")
    assert raised.value.status == 403
    assert raised.value.code == "SignatureDoesNotMatch"
    assert raised.value.request_id


def test_an_invalid_pipeline_is_invalid_argument(server, keys):
    photos = bucket(server, keys["rw"])
    photos.put_object("src/g4.jpg", fixture_bytes("gopher-640x427.jpg"))
    with pytest.raises(oss2.exceptions.ServerError) as raised:
        photos.process_object(
            "src/g4.jpg", f"image/resize,w_0|sys/saveas,o_{b64('out/bad.jpg')}"
        )
    assert raised.value.status == 400
    assert raised.value.code == "InvalidArgument"


def test_no_write_grant_on_the_target_is_access_denied(server, keys):
    limited = bucket(server, keys["readonly_target"])
    limited.put_object("src/g5.jpg", fixture_bytes("gopher-640x427.jpg"))
    with pytest.raises(oss2.exceptions.ServerError) as raised:
        limited.process_object(
            "src/g5.jpg",
            f"image/resize,w_100|sys/saveas,o_{b64('out/denied.jpg')},b_{b64('results')}",
        )
    assert raised.value.status == 403
    assert raised.value.code == "AccessDenied"


def test_an_upload_matching_a_rule_answers_the_job_id(server, keys):
    import requests

    rule = requests.post(
        f"{server.url}/v1/buckets/photos/rules",
        auth=keys["rw"],
        json={"prefix": "auto/", "fops": [f"imageMogr2/thumbnail/40x|saveas/{b64('results:auto-40.jpg')}"]},
        timeout=10,
    )
    assert rule.status_code == 201, rule.text
    put = bucket(server, keys["rw"]).put_object("auto/g.jpg", fixture_bytes("gopher-640x427.jpg"))
    job = finished_job(server, keys["rw"], put.headers["x-ferrotype-job-id"])
    assert job["code"] == 0, job
    assert image_size(server.path("results", "auto-40.jpg").read_bytes())[0] == 40


def test_a_failing_item_is_its_own_xml_error(server, keys):
    photos = bucket(server, keys["rw"])
    photos.put_object("src/garbage.jpg", fixture_bytes("garbage.jpg"))
    with pytest.raises(oss2.exceptions.ServerError) as raised:
        photos.process_object(
            "src/garbage.jpg", f"image/resize,w_100|sys/saveas,o_{b64('out/never.jpg')}"
        )
    assert raised.value.status == 400
    assert raised.value.code == "DecodeFailed"
    assert raised.value.request_id


def test_requests_the_surface_does_not_serve_are_refused_and_lose_nothing(server, keys):
    """A sub-resource the surface does not serve is never taken for a plain read or write
    (an append or a part taken for a PUT would replace the object): 501, never the object's
    bytes or a signature error. Copies are served (test_oss2_objects.py)."""
    photos = bucket(server, keys["rw"])
    data = fixture_bytes("gopher-640x427.jpg")
    photos.put_object("keep/a.jpg", data)
    photos.put_object("keep/b.jpg", b"the target's own bytes")
    refusals = [
        lambda: photos.get_object_acl("keep/a.jpg"),
        lambda: photos.put_object_tagging("keep/a.jpg", oss2.models.Tagging()),
        lambda: photos.get_symlink("keep/a.jpg"),
        lambda: photos.append_object("keep/a.jpg", 0, b"more"),
    ]
    for refused in refusals:
        with pytest.raises(oss2.exceptions.OssError) as error:
            refused()
        assert (error.value.status, error.value.code) == (501, "NotImplemented"), error.value
    assert photos.get_object("keep/a.jpg").read() == data
    assert photos.get_object("keep/b.jpg").read() == b"the target's own bytes"
    assert not photos.object_exists("keep/big.bin")
    assert photos.object_exists("keep/a.jpg")
    assert photos.get_object_meta("keep/a.jpg").content_length == len(data)


def test_delete_object_and_its_processed_results(server, keys):
    photos = bucket(server, keys["rw"])
    photos.put_object("del/a.jpg", fixture_bytes("gopher-640x427.jpg"))
    assert image_size(photos.get_object("del/a.jpg", process="image/resize,w_30").read())[0] == 30
    results = server.path("photos", ".ferrotype/processed/del/a.jpg")
    assert len(list(results.iterdir())) == 1
    assert photos.delete_object("del/a.jpg").status == 204
    with pytest.raises(oss2.exceptions.NoSuchKey):
        photos.get_object("del/a.jpg")
    assert list(results.iterdir()) == [] if results.exists() else True
    # Deleting what is not there succeeds, as on OSS.
    assert photos.delete_object("del/never-was.jpg").status == 204
    # The reserved namespace is not the client's, and a read-only key deletes nothing.
    with pytest.raises(oss2.exceptions.OssError) as reserved:
        photos.delete_object(".ferrotype/processed/x")
    assert reserved.value.code == "InvalidObjectName"
    photos.put_object("del/kept.jpg", b"kept")
    reader = oss2.Bucket(oss2.Auth(*keys["readonly_target"]), server.url, "results", is_cname=False)
    oss2.Bucket(oss2.Auth(*keys["rw"]), server.url, "results", is_cname=False).put_object("k", b"k")
    with pytest.raises(oss2.exceptions.AccessDenied):
        reader.delete_object("k")
    assert reader.get_object("k").read() == b"k"


def test_batch_delete_of_a_thousand_keys(server, keys):
    photos = bucket(server, keys["rw"])
    by_hand = [f"batch/{n:04d} &x.txt" for n in range(990)]
    for name in by_hand:
        # Objects put into the bucket folder by hand are objects like any other.
        path = server.path("photos", name)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(name.encode())
    marked = [f"batch/é<{n}>\"'.txt" for n in range(10)]
    for name in marked:
        photos.put_object(name, b"x")
    result = photos.batch_delete_objects(by_hand + marked)
    assert sorted(result.deleted_keys) == sorted(by_hand + marked)
    assert not any(server.path("photos", name).exists() for name in by_hand)
    assert not any(photos.object_exists(name) for name in marked)
    with pytest.raises(oss2.exceptions.OssError) as too_many:
        photos.batch_delete_objects([f"batch/{n}" for n in range(1001)])
    assert (too_many.value.status, too_many.value.code) == (400, "MalformedXML")


def signed_post_delete(server, key_pair, body, content_md5):
    """`POST /photos/?delete` signed with V1 by hand: oss2's `sign_url` needs a key, and
    `batch_delete_objects` always sends the right digest."""
    import email.utils
    import hashlib
    import hmac

    import requests

    headers = {"Content-Type": "application/xml", "Date": email.utils.formatdate(usegmt=True)}
    if content_md5 is not None:
        headers["Content-MD5"] = content_md5
    to_sign = "\n".join(["POST", content_md5 or "", headers["Content-Type"], headers["Date"],
                         "/photos/?delete"])
    signature = base64.b64encode(
        hmac.new(key_pair[1].encode(), to_sign.encode(), hashlib.sha1).digest()
    ).decode()
    headers["Authorization"] = f"OSS {key_pair[0]}:{signature}"
    return requests.post(f"{server.url}/photos/?delete", data=body, headers=headers, timeout=10)


def test_batch_delete_checks_the_content_md5_and_can_be_quiet(server, keys):
    photos = bucket(server, keys["rw"])
    photos.put_object("md5/a.txt", b"a")
    body = (b'<?xml version="1.0" encoding="UTF-8"?><Delete><Quiet>true</Quiet>'
            b"<Object><Key>md5/a.txt</Key></Object></Delete>")
    for digest, code in [("AAAAAAAAAAAAAAAAAAAAAA==", "InvalidDigest"), (None, "MissingArgument")]:
        answer = signed_post_delete(server, keys["rw"], body, digest)
        assert answer.status_code == 400, answer.text
        assert f"<Code>{code}</Code>" in answer.text
    assert photos.get_object("md5/a.txt").read() == b"a"
    malformed = signed_post_delete(server, keys["rw"], b"<Delete><Object>", oss2.utils.content_md5(b"<Delete><Object>"))
    assert malformed.status_code == 400 and "<Code>MalformedXML</Code>" in malformed.text
    quiet = signed_post_delete(server, keys["rw"], body, oss2.utils.content_md5(body))
    assert quiet.status_code == 200, quiet.text
    assert "<Deleted>" not in quiet.text
    assert not photos.object_exists("md5/a.txt")


@pytest.fixture
def oss_test_dns(monkeypatch):
    """`*.oss.test` resolves to loopback, so that oss2 addresses buckets virtual-hosted
    (`Host: <bucket>.oss.test:<port>`) as it does under a real DNS name."""
    import socket

    real = socket.getaddrinfo

    def resolve(host, *args, **kwargs):
        if isinstance(host, str) and (host == "oss.test" or host.endswith(".oss.test")):
            host = "127.0.0.1"
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolve)


def test_list_objects_v1_and_v2_page_through_2500_keys_with_a_delimiter(server, keys, oss_test_dns):
    folders, files = 25, 100
    expected = [f"lst/d{d:02d}/f{n:03d}.txt" for d in range(folders) for n in range(files)]
    expected += [f"lst/top{n}.txt" for n in range(10)]
    for name in expected:
        path = server.path("photos", name)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"x" * (len(name) % 7))
    path_style = bucket(server, keys["rw"])
    hosted = oss2.Bucket(oss2.Auth(*keys["rw"]), f"http://oss.test:{server.port}", "photos")
    for photos in (path_style, hosted):
        flat = list(oss2.ObjectIterator(photos, prefix="lst/", max_keys=1000))
        assert [o.key for o in flat] == sorted(expected)
        assert {o.size for o in flat} == {len(name) % 7 for name in expected}
        assert all(o.etag and o.last_modified > 0 for o in flat)
        for iterator in (oss2.ObjectIterator, oss2.ObjectIteratorV2):
            folded = list(iterator(photos, prefix="lst/", delimiter="/", max_keys=7))
            assert [o.key for o in folded if o.is_prefix()] == [f"lst/d{d:02d}/" for d in range(folders)]
            assert [o.key for o in folded if not o.is_prefix()] == [f"lst/top{n}.txt" for n in range(10)]
        v2 = list(oss2.ObjectIteratorV2(photos, prefix="lst/d03/", start_after="lst/d03/f096.txt"))
        assert [o.key for o in v2] == ["lst/d03/f097.txt", "lst/d03/f098.txt", "lst/d03/f099.txt"]
    page = path_style.list_objects(prefix="lst/", max_keys=2)
    assert page.is_truncated and page.next_marker == "lst/d00/f001.txt"
    with pytest.raises(oss2.exceptions.OssError) as bad:
        path_style.list_objects(max_keys=1001)
    assert (bad.value.status, bad.value.code) == (400, "InvalidArgument")


def test_listing_hides_processed_results_and_spells_odd_keys(server, keys):
    photos = bucket(server, keys["rw"])
    photos.put_object("odd/img.jpg", fixture_bytes("gopher-640x427.jpg"))
    photos.get_object("odd/img.jpg", process="image/resize,w_20").read()
    odd = ["odd/é <&>\"'.txt", "odd/100%.txt", "odd/a#b|c~.txt"]
    for name in odd:
        photos.put_object(name, b"o")
    listed = [o.key for o in oss2.ObjectIterator(photos, prefix="odd/")]
    assert listed == sorted(odd + ["odd/img.jpg"])
    assert not [o.key for o in oss2.ObjectIterator(photos) if o.key.startswith(".ferrotype")]
    # A key without a read grant lists nothing.
    denied = oss2.Bucket(oss2.Auth(*keys["readonly_target"]), server.url, "nobody", is_cname=False)
    with pytest.raises(oss2.exceptions.OssError) as error:
        denied.list_objects()
    assert error.value.status in (403, 404)


def test_virtual_hosted_delete_and_batch_delete(server, keys, oss_test_dns):
    hosted = oss2.Bucket(oss2.Auth(*keys["rw"]), f"http://oss.test:{server.port}", "photos")
    for name in ("vh/a", "vh/b", "vh/c"):
        hosted.put_object(name, b"v")
    assert hosted.delete_object("vh/a").status == 204
    assert sorted(hosted.batch_delete_objects(["vh/b", "vh/c"]).deleted_keys) == ["vh/b", "vh/c"]
    assert [o.key for o in oss2.ObjectIterator(hosted, prefix="vh/")] == []


def test_a_bucket_on_its_own_host_with_is_cname(server, keys, monkeypatch):
    """`oss2.Bucket(auth, 'http://img.cname.test', 'photos', is_cname=True)`: the bucket's
    download host (its CNAME) serves every OSS call, signed over `/photos/<key>`."""
    import socket

    import requests

    real = socket.getaddrinfo
    monkeypatch.setattr(socket, "getaddrinfo", lambda host, *a, **k: real(
        "127.0.0.1" if host == "img.cname.test" else host, *a, **k))
    r = requests.put(f"{server.url}/v1/buckets/photos/settings",
                     json={"download_hosts": ["img.cname.test"]}, auth=keys["rw"], timeout=10)
    assert r.status_code == 200, r.text
    try:
        cname = oss2.Bucket(oss2.Auth(*keys["rw"]), f"http://img.cname.test:{server.port}",
                            "photos", is_cname=True)
        data = fixture_bytes("gopher-640x427.jpg")
        cname.put_object("cn/a.jpg", data)
        assert cname.get_object("cn/a.jpg").read() == data
        assert image_size(cname.get_object("cn/a.jpg", process="image/resize,w_40").read())[0] == 40
        assert [o.key for o in oss2.ObjectIterator(cname, prefix="cn/")] == ["cn/a.jpg"]
        assert cname.batch_delete_objects(["cn/a.jpg"]).deleted_keys == ["cn/a.jpg"]
        assert not bucket(server, keys["rw"]).object_exists("cn/a.jpg")
    finally:
        requests.put(f"{server.url}/v1/buckets/photos/settings", json={}, auth=keys["rw"], timeout=10)


def test_conditional_gets_and_response_overrides(server, keys):
    import email.utils

    import requests

    photos = bucket(server, keys["rw"])
    data = fixture_bytes("gopher-640x427.jpg")
    photos.put_object("cond/a.jpg", data)
    etag = '"' + photos.head_object("cond/a.jpg").etag + '"'
    past = email.utils.formatdate(time.time() - 86400, usegmt=True)
    future = email.utils.formatdate(time.time() + 86400, usegmt=True)
    for headers, status in [
        ({"If-Match": etag}, 200),
        ({"If-Match": '"nope"'}, 412),
        ({"If-Match": "*"}, 200),
        ({"If-Unmodified-Since": future}, 200),
        ({"If-Unmodified-Since": past}, 412),
        ({"If-None-Match": etag}, 304),
        ({"If-Modified-Since": future}, 304),
        ({"If-Modified-Since": past}, 200),
        # If-Match is looked at first, as RFC 9110 orders them.
        ({"If-Match": '"nope"', "If-None-Match": etag}, 412),
    ]:
        url = photos.sign_url("GET", "cond/a.jpg", 60)
        answer = requests.get(url, headers=headers, timeout=10)
        assert answer.status_code == status, (headers, answer.text)
        if status == 412:
            assert "<Code>PreconditionFailed</Code>" in answer.text
    with pytest.raises(oss2.exceptions.PreconditionFailed):
        photos.get_object("cond/a.jpg", headers={"If-Match": '"nope"'})
    overridden = photos.get_object("cond/a.jpg", params={
        "response-content-type": "application/x-test",
        "response-content-disposition": 'attachment; filename="a.jpg"',
        "response-cache-control": "no-cache",
    })
    assert overridden.headers["Content-Type"] == "application/x-test"
    assert overridden.headers["Content-Disposition"] == 'attachment; filename="a.jpg"'
    assert overridden.headers["Cache-Control"] == "no-cache"
    assert overridden.read() == data
    # Processed results take the overrides too; anonymous readers may not ask for them.
    processed = photos.get_object("cond/a.jpg", process="image/resize,w_10",
                                  params={"response-content-type": "image/x-small"})
    assert processed.headers["Content-Type"] == "image/x-small"
    r = requests.put(f"{server.url}/v1/buckets/photos/settings", json={"acl": "public-read"},
                     auth=keys["rw"], timeout=10)
    assert r.status_code == 200
    try:
        anonymous = requests.get(f"{server.url}/photos/cond/a.jpg?response-content-type=text/html", timeout=10)
        assert anonymous.status_code == 403 and "<Code>AccessDenied</Code>" in anonymous.text
    finally:
        requests.put(f"{server.url}/v1/buckets/photos/settings", json={}, auth=keys["rw"], timeout=10)
