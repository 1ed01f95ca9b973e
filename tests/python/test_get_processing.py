"""Processing on GET and URL access, with the unmodified SDKs and a plain HTTP client (the way
a browser or a CDN fetches): `oss2` `get_object(..., process=...)`, `sign_url` (V1, V2, V4),
Qiniu `private_download_url`, public-read buckets, original protection, style separators,
304 and 206 on results, renders counted in the ledger."""

import base64
import concurrent.futures
import json
import struct
import subprocess
import time

import oss2
import pytest
import qiniu
import requests

from conftest import BINARY, fixture_bytes, free_port, image_size

REGION = "cn-hangzhou"
GOPHER = fixture_bytes("gopher-640x427.jpg")


def b64(text):
    return base64.urlsafe_b64encode(text.encode()).decode()


@pytest.fixture(scope="module")
def owner(server):
    """A key that may read and write every bucket these tests use."""
    return server.key(*[f"{b}:rw" for b in ("getp", "pubr", "prot", "sepr", "qdl", "mark")])


def bucket(server, owner, name, auth=oss2.Auth):
    return oss2.Bucket(auth(*owner), server.url, name, is_cname=False, region=REGION)


def settings(server, owner, name, **values):
    r = requests.put(f"{server.url}/v1/buckets/{name}/settings", json=values, auth=owner, timeout=10)
    assert r.status_code == 200, r.text
    return r.json()


def style(server, owner, name, style_name, process):
    r = requests.put(
        f"{server.url}/v1/buckets/{name}/styles/{style_name}",
        json={"process": process}, auth=owner, timeout=10,
    )
    assert r.status_code in (200, 201), r.text


def renders(server, bucket_name, key):
    """Jobs recorded for the source: one per render."""
    return int(server.sql(
        f"SELECT count(*) FROM jobs WHERE input_bucket = '{bucket_name}' AND input_key = '{key}'"
    ))


def oss_error(response):
    text = response.text
    return response.status_code, text.split("<Code>", 1)[1].split("</Code>", 1)[0]


def test_get_object_with_process_answers_the_processed_image(server, owner):
    photos = bucket(server, owner, "getp")
    photos.put_object("a.jpg", GOPHER)
    table = [
        ("image/resize,w_100", "image/jpeg", (100, 67)),
        ("image/crop,w_200,h_100", "image/jpeg", (200, 100)),
        ("image/rotate,90/format,png", "image/png", (427, 640)),
        ("image/resize,w_120/format,png", "image/png", (120, 80)),
        ("image/watermark,text_RmVycm90eXBl,size_20/resize,w_300", "image/jpeg", (300, 200)),
        ("image/resize,w_100/format,avif", "image/avif", (100, 67)),
        ("image/resize,w_100/format,heic", "image/heic", (100, 67)),
    ]
    for process, content_type, size in table:
        result = photos.get_object("a.jpg", process=process)
        body = result.read()
        assert result.headers["Content-Type"] == content_type, process
        assert image_size(body) == size, process
        assert int(result.headers["Content-Length"]) == len(body)
        assert result.headers["ETag"].startswith('"')
        assert result.headers["Last-Modified"]
    info = json.loads(photos.get_object("a.jpg", process="image/info").read())
    assert info["ImageWidth"]["value"] == "640"
    hue = photos.get_object("a.jpg", process="image/average-hue")
    assert hue.headers["Content-Type"] == "application/json"
    assert json.loads(hue.read())["RGB"].startswith("0x")
    # HEAD answers the same status and headers as GET, without a body.
    head = photos.head_object("a.jpg", params={"x-oss-process": "image/resize,w_100"})
    assert head.content_length == len(photos.get_object("a.jpg", process="image/resize,w_100").read())


def test_a_style_and_its_errors(server, owner):
    photos = bucket(server, owner, "getp")
    photos.put_object("s.jpg", GOPHER)
    style(server, owner, "getp", "thumb", "image/resize,w_64")
    body = photos.get_object("s.jpg", process="style/thumb").read()
    assert image_size(body)[0] == 64
    url = f"{server.url}/getp/s.jpg"
    auth = oss2.Auth(*owner)
    for process, status, code in [
        ("style/nope", 404, "NoSuchStyle"),
        ("image/resize,w_0", 400, "InvalidArgument"),
        (f"image/resize,w_10|sys/saveas,o_{b64('x.jpg')}", 400, "InvalidArgument"),
    ]:
        signed = bucket(server, owner, "getp").sign_url("GET", "s.jpg", 60, params={"x-oss-process": process})
        r = requests.get(signed, timeout=30)
        assert oss_error(r) == (status, code), (process, r.text)
        assert r.headers["Content-Type"] == "application/xml"
    missing = bucket(server, owner, "getp").sign_url("GET", "none.jpg", 60, params={"x-oss-process": "image/resize,w_10"})
    assert oss_error(requests.get(missing, timeout=30)) == (404, "NoSuchKey")
    assert auth is not None and url


@pytest.mark.parametrize("auth", [oss2.Auth, oss2.AuthV2, oss2.AuthV4], ids=["v1", "v2", "v4"])
def test_sign_url_with_process_fetched_by_a_plain_client(server, owner, auth):
    photos = bucket(server, owner, "getp", auth)
    photos.put_object("signed.jpg", GOPHER)
    url = photos.sign_url("GET", "signed.jpg", 60, params={"x-oss-process": "image/resize,w_90"})
    r = requests.get(url, timeout=30)
    assert r.status_code == 200, r.text
    assert image_size(r.content)[0] == 90
    # The same URL unsigned is refused.
    bare = f"{server.url}/getp/signed.jpg?x-oss-process=image/resize,w_90"
    assert oss_error(requests.get(bare, timeout=30)) == (403, "AccessDenied")


def test_results_are_persisted_answer_304_and_206_and_follow_the_source(server, owner):
    photos = bucket(server, owner, "getp")
    photos.put_object("p.jpg", GOPHER)
    before = renders(server, "getp", "p.jpg")
    url = photos.sign_url("GET", "p.jpg", 600, params={"x-oss-process": "image/resize,w_150"})
    first = requests.get(url, timeout=30)
    second = requests.get(url, timeout=30)
    assert first.content == second.content
    assert renders(server, "getp", "p.jpg") == before + 1
    etag = first.headers["ETag"]
    assert requests.get(url, headers={"If-None-Match": etag}, timeout=30).status_code == 304
    since = first.headers["Last-Modified"]
    assert requests.get(url, headers={"If-Modified-Since": since}, timeout=30).status_code == 304
    part = requests.get(url, headers={"Range": "bytes=0-9"}, timeout=30)
    assert part.status_code == 206
    assert part.content == first.content[:10]
    assert part.headers["Content-Range"] == f"bytes 0-9/{len(first.content)}"
    # A new source is a new result.
    photos.put_object("p.jpg", fixture_bytes("small-400x300.png"))
    changed = requests.get(url, timeout=30)
    assert image_size(changed.content) == (150, 113)
    assert renders(server, "getp", "p.jpg") == before + 2


def test_concurrent_identical_first_requests_render_once(server, owner):
    photos = bucket(server, owner, "getp")
    photos.put_object("c.jpg", GOPHER)
    url = photos.sign_url("GET", "c.jpg", 600, params={"x-oss-process": "image/resize,w_77"})
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda _: requests.get(url, timeout=60), range(8)))
    assert {a.status_code for a in answers} == {200}
    assert len({a.content for a in answers}) == 1
    assert renders(server, "getp", "c.jpg") == 1


def test_concurrent_first_requests_through_two_api_processes_render_once(server, owner):
    """The ledger, not a process's memory, knows what is being rendered: a second API process
    on the same database and queues joins the first one's render."""
    port = free_port()
    env = dict(server.env, FERROTYPE_LISTEN=f"127.0.0.1:{port}")
    other = subprocess.Popen([str(BINARY), "api"], env=env, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
    try:
        other_url = f"http://127.0.0.1:{port}"
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                if requests.get(other_url + "/healthz", timeout=1).status_code == 200:
                    break
            except requests.ConnectionError:
                time.sleep(0.1)
        photos = bucket(server, owner, "getp")
        photos.put_object("two.jpg", GOPHER)
        url = photos.sign_url("GET", "two.jpg", 600, params={"x-oss-process": "image/resize,w_66"})
        urls = [url, url.replace(server.url, other_url)] * 5
        with concurrent.futures.ThreadPoolExecutor(10) as pool:
            answers = list(pool.map(lambda u: requests.get(u, timeout=60), urls))
        assert [a.status_code for a in answers] == [200] * 10
        assert len({a.content for a in answers}) == 1
        assert renders(server, "getp", "two.jpg") == 1
    finally:
        other.terminate()
        other.wait(timeout=20)


def test_a_public_read_bucket_is_read_anonymously_and_a_private_one_is_not(server, owner):
    public = bucket(server, owner, "pubr")
    public.put_object("x.jpg", GOPHER)
    anonymous = f"{server.url}/pubr/x.jpg"
    assert oss_error(requests.get(anonymous, timeout=30)) == (403, "AccessDenied")
    public.put_bucket_acl(oss2.BUCKET_ACL_PUBLIC_READ)
    assert public.get_bucket_acl().acl == "public-read"
    assert requests.get(anonymous, timeout=30).content == GOPHER
    small = requests.get(anonymous + "?x-oss-process=image/resize,w_50", timeout=30)
    assert image_size(small.content)[0] == 50
    # Virtual-hosted style, as a CDN in front of `pubr.oss.test` asks.
    hosted = requests.get(f"{server.url}/x.jpg", headers={"Host": "pubr.oss.test"}, timeout=30)
    assert hosted.content == GOPHER
    public.put_bucket_acl(oss2.BUCKET_ACL_PRIVATE)
    assert oss_error(requests.get(anonymous, timeout=30)) == (403, "AccessDenied")


def test_original_protection_lets_anonymous_readers_through_styles_only(server, owner):
    prot = bucket(server, owner, "prot")
    prot.put_object("o.jpg", GOPHER)
    prot.put_object("o.png", fixture_bytes("small-400x300.png"))
    settings(server, owner, "prot", acl="public-read", protected_suffixes=["jpg"], style_separators="!")
    style(server, owner, "prot", "small", "image/resize,w_40")
    base = f"{server.url}/prot"
    assert oss_error(requests.get(f"{base}/o.jpg", timeout=30)) == (403, "AccessDenied")
    free = requests.get(f"{base}/o.jpg?x-oss-process=image/resize,w_40", timeout=30)
    assert oss_error(free) == (403, "AccessDenied")
    assert image_size(requests.get(f"{base}/o.jpg?x-oss-process=style/small", timeout=30).content)[0] == 40
    assert image_size(requests.get(f"{base}/o.jpg!small", timeout=30).content)[0] == 40
    assert image_size(requests.get(f"{base}/o.jpg@!small", timeout=30).content)[0] == 40
    # Another suffix is not protected; a signed request is not restricted.
    assert requests.get(f"{base}/o.png", timeout=30).status_code == 200
    assert prot.get_object("o.jpg").read() == GOPHER


def test_separators_need_configuring_and_an_existing_name_wins(server, owner):
    sepr = bucket(server, owner, "sepr")
    sepr.put_object("k.jpg", GOPHER)
    sepr.put_object("k.jpg-raw", b"an object whose name has a separator")
    style(server, owner, "sepr", "w30", "image/resize,w_30")
    assert oss_error(requests.get(sepr.sign_url("GET", "k.jpg-w30", 60), timeout=30)) == (404, "NoSuchKey")
    settings(server, owner, "sepr", style_separators="-")
    assert image_size(requests.get(sepr.sign_url("GET", "k.jpg-w30", 60), timeout=30).content)[0] == 30
    assert requests.get(sepr.sign_url("GET", "k.jpg-raw", 60), timeout=30).content.startswith(b"an object")


def test_qiniu_private_download_urls_process_and_refuse(server, owner):
    bucket(server, owner, "qdl").put_object("q.jpg", GOPHER)
    auth = qiniu.Auth(*owner)
    base = f"{server.url}/qdl/q.jpg"
    view = requests.get(auth.private_download_url(base + "?imageView2/2/w/100"), timeout=30)
    assert view.status_code == 200, view.text
    assert image_size(view.content) == (100, 67)
    mogr = requests.get(auth.private_download_url(base + "?imageMogr2/thumbnail/50x/format/png"), timeout=30)
    assert mogr.headers["Content-Type"] == "image/png"
    assert image_size(mogr.content)[0] == 50
    info = requests.get(auth.private_download_url(base + "?imageInfo"), timeout=30)
    assert info.json()["width"] == 640
    avif = requests.get(auth.private_download_url(base + "?imageMogr2/thumbnail/50x/format/avif"), timeout=30)
    assert avif.headers["Content-Type"] == "image/avif"
    assert image_size(avif.content)[0] == 50
    # An iPhone-style HEIC source, read and written as JPEG; imageInfo names it.
    bucket(server, owner, "qdl").put_object("q.heic", fixture_bytes("gopher-640x427.heic"))
    heic = f"{server.url}/qdl/q.heic"
    view = requests.get(auth.private_download_url(heic + "?imageView2/2/w/100/format/jpg"), timeout=30)
    assert view.headers["Content-Type"] == "image/jpeg", view.text
    assert image_size(view.content) == (100, 67)
    info = requests.get(auth.private_download_url(heic + "?imageInfo"), timeout=30).json()
    assert (info["format"], info["width"], info["colorModel"]) == ("heic", 640, "rgba")
    # A Photoshop source (Qiniu lists PSD): its composite, written as PNG unless named.
    bucket(server, owner, "qdl").put_object("q.psd", fixture_bytes("gopher-120x80.psd"))
    psd = requests.get(auth.private_download_url(f"{server.url}/qdl/q.psd?imageView2/2/w/60"), timeout=30)
    assert psd.headers["Content-Type"] == "image/png", psd.text
    assert image_size(psd.content) == (60, 40)
    chained = requests.get(
        auth.private_download_url(base + "?imageMogr2/thumbnail/200x|imageView2/1/w/50/h/50"), timeout=30
    )
    assert image_size(chained.content) == (50, 50)
    # Refusals are Qiniu's JSON, never OSS XML.
    for url, status in [
        (base + "?imageView2/2/w/100", 403),
        (base + "?imageView2/2/w/100&e=1&token=" + owner[0] + ":AAAA", 401),
        (auth.private_download_url(base + "?imageView2/9"), 400),
        (auth.private_download_url(f"{server.url}/qdl/none.jpg?imageView2/2/w/10"), 404),
    ]:
        r = requests.get(url, timeout=30)
        assert r.status_code == status, (url, r.text)
        assert "error" in r.json()
        assert "x-reqid" in {k.lower() for k in r.headers}


def test_video_frames_watermarks_and_exif_on_get(server, owner):
    """A video frame (OSS video/snapshot, Qiniu vframe), a Qiniu text watermark and exif."""
    vids = bucket(server, owner, "qdl")
    vids.put_object("clip.mp4", fixture_bytes("clip-160x120.mp4"))
    frame = vids.get_object("clip.mp4", process="video/snapshot,t_500,f_png,w_80")
    assert frame.headers["Content-Type"] == "image/png"
    assert image_size(frame.read()) == (80, 60)
    auth = qiniu.Auth(*owner)
    base = f"{server.url}/qdl"
    vframe = requests.get(auth.private_download_url(f"{base}/clip.mp4?vframe/jpg/offset/0.5/w/40"), timeout=60)
    assert vframe.status_code == 200, vframe.text
    assert vframe.headers["Content-Type"] == "image/jpeg"
    assert image_size(vframe.content) == (40, 30)
    vids.put_object("w.jpg", GOPHER)
    mark = f"watermark/2/text/{b64('Ferrotype')}/fontsize/400/gravity/SouthEast"
    marked = requests.get(auth.private_download_url(f"{base}/w.jpg?{mark}"), timeout=30)
    assert marked.status_code == 200, marked.text
    assert image_size(marked.content) == (640, 427) and marked.content != GOPHER
    vids.put_object("e.jpg", with_orientation(GOPHER, 6))
    exif = requests.get(auth.private_download_url(f"{base}/e.jpg?exif"), timeout=30)
    assert exif.status_code == 200, exif.text
    assert exif.headers["Content-Type"].startswith("application/json")
    assert exif.json()["Orientation"]["type"] == 3
    # The gopher itself carries no EXIF: a client error, in Qiniu's JSON.
    bare = requests.get(auth.private_download_url(f"{base}/w.jpg?exif"), timeout=30)
    assert bare.status_code == 400 and "EXIF" in bare.json()["error"]


def with_orientation(jpeg, orientation):
    """`jpeg` with an APP1 EXIF segment holding only the orientation tag."""
    tiff = (b"MM\x00\x2a\x00\x00\x00\x08\x00\x01" + b"\x01\x12\x00\x03\x00\x00\x00\x01"
            + struct.pack(">H", orientation) + b"\x00\x00" + b"\x00\x00\x00\x00")
    app1 = b"Exif\x00\x00" + tiff
    return jpeg[:2] + b"\xff\xe1" + struct.pack(">H", len(app1) + 2) + app1 + jpeg[2:]


def test_qiniu_download_hosts_and_style_separators(server, owner):
    bucket(server, owner, "qdl").put_object("h.jpg", GOPHER)
    settings(server, owner, "qdl", acl="public-read", style_separators="-", download_hosts=["img.qdl.test"])
    style(server, owner, "qdl", "tiny", "image/resize,w_20")
    host = {"Host": "img.qdl.test"}
    assert requests.get(f"{server.url}/h.jpg", headers=host, timeout=30).content == GOPHER
    view = requests.get(f"{server.url}/h.jpg?imageView2/2/w/60", headers=host, timeout=30)
    assert image_size(view.content)[0] == 60
    assert image_size(requests.get(f"{server.url}/h.jpg-tiny", headers=host, timeout=30).content)[0] == 20
    missing = requests.get(f"{server.url}/none.jpg", headers=host, timeout=30)
    assert missing.status_code == 404 and "error" in missing.json()


def test_a_full_render_queue_answers_slow_down_with_retry_after_and_a_stored_result_still_serves():
    """With no room in the render queue, a miss is refused at once (503 SlowDown, Retry-After);
    on both surfaces, in their own formats."""
    from conftest import Server

    busy = Server()
    busy.env["FERROTYPE_GET_MAX_BACKLOG"] = "0"
    busy.start()
    try:
        key = busy.key("slow:rw")
        slow = oss2.Bucket(oss2.Auth(*key), busy.url, "slow", is_cname=False, region=REGION)
        slow.put_object("s.jpg", GOPHER)
        with pytest.raises(oss2.exceptions.ServerError) as refused:
            slow.get_object("s.jpg", process="image/resize,w_50")
        assert refused.value.status == 503
        assert refused.value.code == "SlowDown"
        assert refused.value.headers.get("Retry-After") == "1"
        token = qiniu.Auth(*key).private_download_url(f"{busy.url}/slow/s.jpg?imageView2/2/w/50")
        answer = requests.get(token, timeout=30)
        assert answer.status_code == 503
        assert answer.headers["Retry-After"] == "1"
        assert "error" in answer.json()
        # The original itself is no render: it is served.
        assert slow.get_object("s.jpg").read() == GOPHER
    finally:
        busy.stop()


def camera_jpeg():
    """The gopher as a camera writes it: rights, a maker, a GPS position and an orientation."""
    from io import BytesIO

    from PIL import Image

    picture = Image.open(BytesIO(GOPHER))
    exif = Image.Exif()
    exif[315] = "Ada Lovelace"  # Artist
    exif[33432] = "(c) 2026 Ferrotype"  # Copyright
    exif[271] = "Camera Maker"  # Make
    exif[274] = 1  # Orientation
    exif.get_ifd(0x8825)[1] = "N"  # GPSLatitudeRef
    out = BytesIO()
    picture.save(out, "JPEG", exif=exif.tobytes(), quality=90)
    return out.getvalue()


def exif_tags(image_bytes):
    from io import BytesIO

    from PIL import Image

    exif = Image.open(BytesIO(image_bytes)).getexif()
    return sorted(exif.keys()) + sorted(exif.get_ifd(0x8825).keys())


def test_results_keep_artist_and_copyright_and_strip_removes_them(server, owner):
    """The default metadata policy: of the source's EXIF, only the rights survive; Qiniu strip."""
    source = camera_jpeg()
    assert exif_tags(source) == [271, 274, 315, 33432, 34853, 1]
    photos = bucket(server, owner, "qdl")
    photos.put_object("camera.jpg", source)
    for process in ["image/resize,w_100", "image/resize,w_100/format,webp", "image/resize,w_100/format,png"]:
        result = photos.get_object("camera.jpg", process=process).read()
        assert exif_tags(result) == [315, 33432], process
    auth = qiniu.Auth(*owner)
    base = f"{server.url}/qdl/camera.jpg"
    kept = requests.get(auth.private_download_url(base + "?imageMogr2/thumbnail/100x"), timeout=30)
    assert exif_tags(kept.content) == [315, 33432]
    stripped = requests.get(auth.private_download_url(base + "?imageMogr2/strip/thumbnail/100x"), timeout=30)
    assert stripped.status_code == 200, stripped.text
    assert image_size(stripped.content) == (100, 67)
    assert exif_tags(stripped.content) == []
