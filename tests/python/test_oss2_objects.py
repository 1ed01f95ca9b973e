"""The OSS object calls around processing, with the unmodified `oss2` SDK (CRC checks on, its
default): metadata, digests, ranges, copies, multipart uploads, in path style and
virtual-hosted style, on a bucket folder (`photos`) and on an S3-backed bucket (`s3photos`,
kept by the real S3-compatible server conftest starts)."""

import base64
import hashlib
import time

import oss2
import pytest
import requests

from conftest import S3_BUCKET, fixture_bytes, image_size
from test_oss2 import b64, bucket, oss_test_dns  # noqa: F401  (a fixture)


def both_styles(server, key_pair, name="photos"):
    """The bucket as oss2 addresses it with an IP endpoint (path style) and with a DNS name
    (virtual-hosted: `Host: photos.oss.test:<port>`)."""
    hosted = oss2.Bucket(oss2.Auth(*key_pair), f"http://oss.test:{server.port}", name)
    return [("path", bucket(server, key_pair, name)), ("hosted", hosted)]


@pytest.fixture(params=["photos", S3_BUCKET])
def name(request):
    """The bucket under test: a local folder, then an S3-backed bucket."""
    return request.param


def md5_hex(data):
    return hashlib.md5(data).hexdigest().upper()


def test_metadata_round_trips_with_oss_etag_and_crc(server, keys, oss_test_dns, name):
    data = fixture_bytes("gopher-640x427.jpg")
    for style, photos in both_styles(server, keys["rw"], name):
        key = f"meta/{style}/gopher.jpg"
        headers = {
            "Content-Type": "image/x-test",
            "Content-Disposition": 'attachment; filename="g.jpg"',
            "Cache-Control": "max-age=60",
            "Content-Encoding": "identity",
            "Expires": "Wed, 21 Oct 2037 07:28:00 GMT",
            "x-oss-meta-Author": "gopher",
            "x-oss-meta-empty": "",
        }
        put = photos.put_object(key, data, headers=headers)
        assert put.etag == md5_hex(data), style
        if name == S3_BUCKET:
            # Kept by the S3 server, not in Ferrotype's data dir.
            assert (server.s3.root / S3_BUCKET / key).read_bytes() == data
            assert not server.path(name, key).exists()
        assert put.crc is not None
        head = photos.head_object(key)
        assert head.etag == md5_hex(data)
        assert int(head.headers["x-oss-hash-crc64ecma"]) == put.crc
        assert head.content_type == "image/x-test"
        assert head.object_type == "Normal"
        assert head.headers["Content-Disposition"] == 'attachment; filename="g.jpg"'
        assert head.headers["Cache-Control"] == "max-age=60"
        assert head.headers["Expires"] == "Wed, 21 Oct 2037 07:28:00 GMT"
        assert head.headers["x-oss-meta-author"] == "gopher"
        assert head.headers["Last-Modified"]
        meta = photos.get_object_meta(key)
        assert meta.etag == md5_hex(data) and meta.content_length == len(data)
        got = photos.get_object(key)
        assert got.read() == data
        assert got.server_crc == got.client_crc
        # The SDK's whole-file download checks the CRC end to end.
        photos.get_object_to_file(key, "/dev/null")


def test_content_type_from_extension_or_sniffed(server, keys):
    photos = bucket(server, keys["rw"])
    data = fixture_bytes("gopher-640x427.jpg")
    url = photos.sign_url("PUT", "types/noext", 60)
    assert requests.put(url, data=data, timeout=10).status_code == 200
    assert photos.head_object("types/noext").content_type == "image/jpeg"
    url = photos.sign_url("PUT", "types/page.html", 60)
    assert requests.put(url, data=b"<p>hi</p>", timeout=10).status_code == 200
    assert photos.head_object("types/page.html").content_type == "text/html"


def test_a_wrong_content_md5_stores_nothing(server, keys, name):
    photos = bucket(server, keys["rw"], name)
    photos.put_object("digest/a.txt", b"original")
    wrong = base64.b64encode(hashlib.md5(b"something else").digest()).decode()
    for md5 in (wrong, "not base64!"):
        with pytest.raises(oss2.exceptions.OssError) as error:
            photos.put_object("digest/a.txt", b"replacement", headers={"Content-MD5": md5})
        assert (error.value.status, error.value.code) == (400, "InvalidDigest")
    assert photos.get_object("digest/a.txt").read() == b"original"
    right = base64.b64encode(hashlib.md5(b"replacement").digest()).decode()
    photos.put_object("digest/a.txt", b"replacement", headers={"Content-MD5": right})
    assert photos.get_object("digest/a.txt").read() == b"replacement"


def test_a_body_over_the_single_put_size_streams_and_a_wrong_md5_still_stores_nothing(
    server, keys, name
):
    """Over 8 MiB a PUT goes to the store as a multipart write, never held whole: the bytes
    round-trip, and a wrong Content-MD5 abandons the write before the object is replaced."""
    photos = bucket(server, keys["rw"], name)
    big = bytes(range(256)) * (40 * 1024 * 4 * 2 + 7)  # just over 20 MiB
    photos.put_object("digest/big.bin", big)
    assert hashlib.md5(photos.get_object("digest/big.bin").read()).digest() == hashlib.md5(big).digest()
    other = big[::-1]
    wrong = base64.b64encode(hashlib.md5(b"something else").digest()).decode()
    with pytest.raises(oss2.exceptions.OssError) as error:
        photos.put_object("digest/big.bin", other, headers={"Content-MD5": wrong})
    assert (error.value.status, error.value.code) == (400, "InvalidDigest")
    assert photos.head_object("digest/big.bin").content_length == len(big)


def test_range_gets(server, keys, oss_test_dns, name):
    data = bytes(range(256)) * 400
    for style, photos in both_styles(server, keys["rw"], name):
        key = f"range/{style}.bin"
        photos.put_object(key, data)
        assert photos.get_object(key, byte_range=(10, 19)).read() == data[10:20]
        assert photos.get_object(key, byte_range=(None, 5)).read() == data[-5:]
        assert photos.get_object(key, byte_range=(len(data) - 3, None)).read() == data[-3:]
        url = photos.sign_url("GET", key, 60)
        answer = requests.get(url, headers={"Range": f"bytes={len(data)}-"}, timeout=10)
        assert answer.status_code == 416
        assert answer.headers["Content-Range"] == f"bytes */{len(data)}"
        partial = requests.get(url, headers={"Range": "bytes=0-0"}, timeout=10)
        assert (partial.status_code, partial.content) == (206, data[:1])
        assert partial.headers["Content-Range"] == f"bytes 0-0/{len(data)}"


def test_an_object_put_by_hand_is_described_from_its_bytes(server, keys):
    data = fixture_bytes("gopher-640x427.jpg")
    path = server.path("photos", "byhand/photo")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    photos = bucket(server, keys["rw"])
    head = photos.head_object("byhand/photo")
    assert (head.etag, head.content_type) == (md5_hex(data), "image/jpeg")
    got = photos.get_object("byhand/photo")
    assert got.read() == data and got.server_crc == got.client_crc
    # Replaced by hand: described again, not answered from the old record.
    path.write_bytes(b"plain text now, and longer than before")
    head = photos.head_object("byhand/photo")
    assert head.etag == md5_hex(b"plain text now, and longer than before")
    assert head.content_type == "application/octet-stream"


def test_copy_object_keeps_or_replaces_metadata_and_checks_its_conditions(server, keys, oss_test_dns, name):
    data = fixture_bytes("gopher-640x427.jpg")
    for style, photos in both_styles(server, keys["rw"], name):
        source, target = f"copy/{style}/a.jpg", f"copy/{style}/b.jpg"
        photos.put_object(source, data, headers={"x-oss-meta-who": "a", "Content-Type": "image/jpeg"})
        photos.put_object(target, b"the target's old bytes")
        copied = photos.copy_object(name, source, target)
        assert copied.etag == md5_hex(data)
        assert photos.get_object(target).read() == data
        head = photos.head_object(target)
        assert head.headers["x-oss-meta-who"] == "a" and head.content_type == "image/jpeg"
        # update_object_meta: a copy onto itself that replaces the metadata, bytes untouched.
        photos.update_object_meta(target, {"Content-Type": "image/x-new", "x-oss-meta-why": "b"})
        head = photos.head_object(target)
        assert head.content_type == "image/x-new"
        assert head.headers["x-oss-meta-why"] == "b"
        assert "x-oss-meta-who" not in head.headers
        assert photos.get_object(target).read() == data
        etag = '"' + md5_hex(data) + '"'
        with pytest.raises(oss2.exceptions.PreconditionFailed):
            photos.copy_object(name, source, target,
                               headers={"x-oss-copy-source-if-match": '"nope"'})
        photos.copy_object(name, source, target, headers={"x-oss-copy-source-if-match": etag})
        with pytest.raises(oss2.exceptions.NoSuchKey):
            photos.copy_object(name, f"copy/{style}/missing.jpg", target)
        assert photos.get_object(target).read() == data


@pytest.mark.parametrize("target", ["results", S3_BUCKET])
def test_copy_across_buckets_needs_read_on_the_source(server, keys, target):
    data = b"crossing buckets" * 1000
    photos = bucket(server, keys["rw"])
    photos.put_object("cross/a.bin", data)
    results = bucket(server, keys["rw"], target)
    results.copy_object("photos", "cross/a.bin", "from-photos/a.bin")
    assert results.get_object("from-photos/a.bin").read() == data
    assert results.head_object("from-photos/a.bin").etag == md5_hex(data)
    outsider = bucket(server, server.key(f"{target}:rw"), target)
    with pytest.raises(oss2.exceptions.AccessDenied):
        outsider.copy_object("photos", "cross/a.bin", "stolen.bin")
    assert not results.object_exists("stolen.bin")


def big_file(tmp_path, size):
    """A file of `size` bytes that no two parts share (so a part out of place is caught)."""
    import os

    path = tmp_path / "big.bin"
    block = os.urandom(1024 * 1024)
    with open(path, "wb") as out:
        written, n = 0, 0
        while written < size:
            chunk = (n.to_bytes(8, "big") + block)[: min(len(block), size - written)]
            out.write(chunk)
            written += len(chunk)
            n += 1
    return path


def file_md5(path):
    digest = hashlib.md5()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def test_resumable_upload_and_download_of_100_mib(server, keys, tmp_path, oss_test_dns, name):
    """Over both the multipart threshold (10 MiB) and the multiget threshold (100 MiB): oss2
    uploads 10 MiB parts and downloads in ranged parts, with CRC checks on both ways."""
    size = 100 * 1024 * 1024 + 512 * 1024
    source = big_file(tmp_path, size)
    _, hosted = both_styles(server, keys["rw"], name)[1]
    result = oss2.resumable_upload(hosted, "big/video.bin", str(source),
                                   store=oss2.ResumableStore(root=str(tmp_path)),
                                   headers={"x-oss-meta-kind": "video"}, num_threads=2)
    assert result.etag.endswith("-11"), result.etag
    head = hosted.head_object("big/video.bin")
    assert head.content_length == size and head.object_type == "Multipart"
    assert head.headers["x-oss-meta-kind"] == "video"
    target = tmp_path / "back.bin"
    oss2.resumable_download(hosted, "big/video.bin", str(target),
                            store=oss2.ResumableDownloadStore(root=str(tmp_path)), num_threads=3)
    assert file_md5(target) == file_md5(source)
    # Nothing of the upload is left: no parts, no upload in progress, none in a listing.
    assert list(oss2.MultipartUploadIterator(hosted, prefix="big/")) == []
    assert [o.key for o in oss2.ObjectIterator(hosted, prefix="big/")] == ["big/video.bin"]


def test_multipart_calls_one_by_one(server, keys, name):
    photos = bucket(server, keys["rw"], name)
    key = "mp/one-by-one.bin"
    part_size = 100 * 1024
    data = bytes(range(256)) * (part_size * 3 // 256) + b"tail"
    upload_id = photos.init_multipart_upload(key, headers={"Content-Type": "application/x-mp"}).upload_id
    parts = []
    for n, start in enumerate(range(0, len(data), part_size), start=1):
        chunk = data[start:start + part_size]
        result = photos.upload_part(key, upload_id, n, chunk)
        assert result.etag == md5_hex(chunk)
        parts.append(oss2.models.PartInfo(n, result.etag, size=len(chunk), part_crc=result.crc))
    listed = list(oss2.PartIterator(photos, key, upload_id, max_parts=2))
    assert [p.part_number for p in listed] == [1, 2, 3, 4]
    assert [p.etag for p in listed] == [p.etag for p in parts]
    uploads = list(oss2.MultipartUploadIterator(photos, prefix="mp/"))
    assert [(u.key, u.upload_id) for u in uploads] == [(key, upload_id)]
    # Refusals: out of order, a part never uploaded, a wrong ETag; the upload survives them.
    for bad, code in [
        (list(reversed(parts)), "InvalidPartOrder"),
        (parts + [oss2.models.PartInfo(9, parts[0].etag)], "InvalidPart"),
        ([oss2.models.PartInfo(1, "0" * 32)], "InvalidPart"),
    ]:
        with pytest.raises(oss2.exceptions.OssError) as error:
            # oss2 sorts the parts it sends: send the order asked for as it is.
            photos._Bucket__do_object(
                "POST", key, params={"uploadId": upload_id},
                data=oss2.xml_utils.to_complete_upload_request(bad))
        assert error.value.code == code
    done = photos.complete_multipart_upload(key, upload_id, parts)
    expected = hashlib.md5(b"".join(bytes.fromhex(p.etag) for p in parts)).hexdigest().upper()
    assert done.etag == f"{expected}-4"
    got = photos.get_object(key)
    assert got.read() == data
    assert got.headers["Content-Type"] == "application/x-mp"
    assert got.server_crc == got.client_crc
    with pytest.raises(oss2.exceptions.NoSuchUpload):
        photos.upload_part(key, upload_id, 5, b"late")
    # A small middle part is refused; an abort leaves nothing behind.
    upload_id = photos.init_multipart_upload("mp/small.bin").upload_id
    small = [photos.upload_part("mp/small.bin", upload_id, n, b"x" * 10) for n in (1, 2)]
    with pytest.raises(oss2.exceptions.OssError) as error:
        photos.complete_multipart_upload("mp/small.bin", upload_id, [
            oss2.models.PartInfo(n, r.etag) for n, r in zip((1, 2), small)])
    assert error.value.code == "EntityTooSmall"
    photos.abort_multipart_upload("mp/small.bin", upload_id)
    assert not photos.object_exists("mp/small.bin")
    assert list(oss2.MultipartUploadIterator(photos, prefix="mp/")) == []
    with pytest.raises(oss2.exceptions.OssError) as error:
        photos.upload_part("mp/small.bin", upload_id, 1, b"x", headers={})
    assert error.value.status == 404


def test_upload_part_copy_and_a_wrong_part_md5(server, keys, name):
    photos = bucket(server, keys["rw"], name)
    source = bytes(range(256)) * 1024
    photos.put_object("mpc/source.bin", source)
    upload_id = photos.init_multipart_upload("mpc/joined.bin").upload_id
    first = photos.upload_part_copy(name, "mpc/source.bin", (0, 102399), "mpc/joined.bin", upload_id, 1)
    second = photos.upload_part_copy(name, "mpc/source.bin", None, "mpc/joined.bin", upload_id, 2)
    wrong = base64.b64encode(hashlib.md5(b"other").digest()).decode()
    with pytest.raises(oss2.exceptions.OssError) as error:
        photos.upload_part("mpc/joined.bin", upload_id, 3, b"bytes", headers={"Content-MD5": wrong})
    assert error.value.code == "InvalidDigest"
    photos.complete_multipart_upload("mpc/joined.bin", upload_id, [
        oss2.models.PartInfo(1, first.etag), oss2.models.PartInfo(2, second.etag)])
    assert photos.get_object("mpc/joined.bin").read() == source[:102400] + source


def test_a_completed_upload_starts_the_upload_rule(server, keys):
    from test_oss2 import b64, finished_job

    rule = requests.post(
        f"{server.url}/v1/buckets/photos/rules",
        auth=keys["rw"],
        json={"prefix": "mprule/",
              "fops": [f"imageMogr2/thumbnail/30x|saveas/{b64('results:mprule-30.jpg')}"]},
        timeout=10,
    )
    assert rule.status_code == 201, rule.text
    photos = bucket(server, keys["rw"])
    upload_id = photos.init_multipart_upload("mprule/g.jpg").upload_id
    part = photos.upload_part("mprule/g.jpg", upload_id, 1, fixture_bytes("gopher-640x427.jpg"))
    done = photos.complete_multipart_upload("mprule/g.jpg", upload_id,
                                            [oss2.models.PartInfo(1, part.etag)])
    job = finished_job(server, keys["rw"], done.headers["x-ferrotype-job-id"])
    assert job["code"] == 0, job
    assert server.path("results", "mprule-30.jpg").exists()


def test_buckets_are_created_listed_described_and_deleted_when_empty(server):
    import uuid

    owner = oss2.Auth(*server.key("app-*:rw"))
    name = f"app-{uuid.uuid4().hex[:12]}"
    made = oss2.Bucket(owner, server.url, name)
    with pytest.raises(oss2.exceptions.NoSuchBucket):
        made.get_object("a.txt")
    made.create_bucket(oss2.BUCKET_ACL_PUBLIC_READ)
    assert server.path(name, "").is_dir()
    made.create_bucket()  # again: its owner is answered 200
    names = [b.name for b in oss2.BucketIterator(oss2.Service(owner, server.url))]
    assert name in names and "photos" not in names
    info = made.get_bucket_info()
    assert (info.name, info.acl.grant) == (name, "public-read")
    made.put_object("a.txt", b"a")
    with pytest.raises(oss2.exceptions.BucketNotEmpty):
        made.delete_bucket()
    made.delete_object("a.txt")
    made.put_bucket_style("thumb", "image/resize,w_40")
    made.delete_bucket()
    assert not server.path(name, "").exists()
    with pytest.raises(oss2.exceptions.NoSuchBucket):
        made.get_bucket_info()
    # Made again under the name, it starts empty: no style, no ACL of the old one.
    made.create_bucket()
    assert made.get_bucket_info().acl.grant == "private"
    assert made.list_bucket_style().styles == []
    made.delete_bucket()
    # A name the grant does not cover (oss2 itself refuses the names OSS does not allow).
    with pytest.raises(oss2.exceptions.AccessDenied):
        oss2.Bucket(owner, server.url, "other-bucket").create_bucket()
    assert not server.path("other-bucket", "").exists()


def test_no_such_bucket_comes_before_access_denied(server, keys):
    stranger = bucket(server, server.key("results:r"), "does-not-exist")
    with pytest.raises(oss2.exceptions.NoSuchBucket):
        stranger.get_object("a.jpg")
    with pytest.raises(oss2.exceptions.NoSuchBucket):
        stranger.put_object("a.jpg", b"x")
    with pytest.raises(oss2.exceptions.AccessDenied):
        bucket(server, server.key("results:r"), "photos").get_object("a.jpg")


def test_the_bucket_style_api_manages_the_styles_get_processing_uses(server, keys):
    photos = bucket(server, keys["rw"])
    photos.put_object("styled/g.jpg", fixture_bytes("gopher-640x427.jpg"))
    photos.put_bucket_style("tiny40", "image/resize,w_40")
    got = photos.get_bucket_style("tiny40")
    assert (got.name, got.content) == ("tiny40", "image/resize,w_40")
    assert "tiny40" in [s.name for s in photos.list_bucket_style().styles]
    from conftest import image_size

    styled = photos.get_object("styled/g.jpg", process="style/tiny40").read()
    assert image_size(styled)[0] == 40
    r = requests.get(f"{server.url}/v1/buckets/photos/styles/tiny40", auth=keys["rw"], timeout=10)
    assert r.json()["body"] == "image/resize,w_40"
    with pytest.raises(oss2.exceptions.OssError) as error:
        photos.put_bucket_style("bad", "image/resize,w_0")
    assert error.value.status == 400
    photos.delete_bucket_style("tiny40")
    with pytest.raises(oss2.exceptions.OssError) as error:
        photos.get_bucket_style("tiny40")
    assert (error.value.status, error.value.code) == (404, "NoSuchStyle")


def test_folder_markers_round_trip(server, keys, name):
    """`put_object("dir/", "")`, what consoles and sync tools make for a folder."""
    photos = bucket(server, keys["rw"], name)
    photos.put_object("fm/dir/", b"")
    photos.put_object("fm/dir/a.txt", b"a")
    assert photos.head_object("fm/dir/").content_length == 0
    flat = [o.key for o in oss2.ObjectIterator(photos, prefix="fm/")]
    assert flat == ["fm/dir/", "fm/dir/a.txt"]
    inside = oss2.ObjectIterator(photos, prefix="fm/dir/", delimiter="/")
    assert [o.key for o in inside] == ["fm/dir/", "fm/dir/a.txt"]
    folded = list(oss2.ObjectIterator(photos, prefix="fm/", delimiter="/"))
    assert [(o.key, o.is_prefix()) for o in folded] == [("fm/dir/", True)]
    photos.delete_object("fm/dir/")
    assert not photos.object_exists("fm/dir/")
    assert photos.get_object("fm/dir/a.txt").read() == b"a"


# Valid OSS keys a file system path cannot hold as they are: empty, `.` and `..` segments,
# control characters, `%`, a staged-write look-alike, non-ASCII, a long key.
ODD_KEYS = [
    "keyrules/a//b",
    "keyrules/a/./b",
    "keyrules/../x",
    "keyrules/.",
    "keyrules/tab\tand\x01ctl",
    "keyrules/50%/x",
    "keyrules/clip#12",
    "keyrules/照片/猫.jpg",
    "keyrules/ü <>|~*?\"\\.txt",
]


def odd_keys(name):
    """ODD_KEYS and a long key: on a folder, one of 1,023 bytes in one segment (kept in parts,
    since a file name holds 255 bytes). The S3 bucket's test server (s3s-fs) names a file after
    the base64 of the whole key (its metadata), so no key over about 170 bytes can be stored
    there: it gets one of 150 bytes in segments."""
    if name == S3_BUCKET:
        return ODD_KEYS + ["keyrules/" + "/".join(["k" * 48] * 3)]
    return ODD_KEYS + ["keyrules/" + "k" * 1014]


def test_every_oss_key_round_trips(server, keys, oss_test_dns, name):
    keys_under_test = odd_keys(name)
    for style, photos in both_styles(server, keys["rw"], name):
        for key in keys_under_test:
            data = f"{style}:{key}".encode()
            photos.put_object(key, data)
            assert photos.get_object(key).read() == data, (style, key)
            assert photos.head_object(key).content_length == len(data)
        listed = [o.key for o in oss2.ObjectIterator(photos, prefix="keyrules/")]
        assert listed == sorted(keys_under_test), style
        listed_v2 = [o.key for o in oss2.ObjectIteratorV2(photos, prefix="keyrules/a/")]
        assert listed_v2 == ["keyrules/a/./b", "keyrules/a//b"], style
        folded = oss2.ObjectIteratorV2(photos, prefix="keyrules/a/", delimiter="/")
        assert [(o.key, o.is_prefix()) for o in folded] == [("keyrules/a/./", True), ("keyrules/a//", True)]
        photos.copy_object(name, "keyrules/../x", "keyrules/a/../copy")
        assert photos.get_object("keyrules/a/../copy").read() == f"{style}:keyrules/../x".encode()
        result = photos.batch_delete_objects(keys_under_test + ["keyrules/a/../copy"])
        assert sorted(result.deleted_keys) == sorted(keys_under_test + ["keyrules/a/../copy"])
        assert list(oss2.ObjectIterator(photos, prefix="keyrules/")) == []


def test_keys_oss_refuses_are_refused(server, keys):
    photos = bucket(server, keys["rw"])
    for key in ["\\lead", "k" * 1024, ".ferrotype/processed/x"]:
        with pytest.raises(oss2.exceptions.OssError) as error:
            photos.put_object(key, b"x")
        assert (error.value.status, error.value.code) == (400, "InvalidObjectName"), key
    # A leading `/` never reaches the server as part of the key through oss2 (it is the
    # path's own); sent raw, it is refused too.
    r = requests.put(f"{server.url}/photos//lead", data=b"x", timeout=10)
    assert r.status_code in (400, 403)


def test_a_folder_keeps_files_under_their_own_names_and_nothing_leaves_it(server, keys):
    photos = bucket(server, keys["rw"])
    photos.put_object("names/照片.jpg", b"unicode")
    photos.put_object("names/../../escape", b"inside")
    assert server.path("photos", "names/照片.jpg").read_bytes() == b"unicode"
    assert server.path("photos", "names/%2E%2E/%2E%2E/escape").read_bytes() == b"inside"
    assert not server.path("photos", "../escape").exists()
    by_hand = server.path("photos", "names/手工/图.png")
    by_hand.parent.mkdir(parents=True, exist_ok=True)
    by_hand.write_bytes(b"by hand")
    assert photos.get_object("names/手工/图.png").read() == b"by hand"
    server.path("photos", "names/50%off.txt").write_bytes(b"no key names this file")
    listed = [o.key for o in oss2.ObjectIterator(photos, prefix="names/")]
    assert listed == ["names/../../escape", "names/手工/图.png", "names/照片.jpg"]


def test_a_folder_refuses_a_key_that_would_be_a_file_and_a_folder(server, keys):
    photos = bucket(server, keys["rw"])
    photos.put_object("conflict/a", b"file")
    with pytest.raises(oss2.exceptions.OssError) as error:
        photos.put_object("conflict/a/b", b"under a file")
    assert (error.value.status, error.value.code) == (409, "KeyConflict")
    assert photos.get_object("conflict/a").read() == b"file"
    with pytest.raises(oss2.exceptions.NoSuchKey):
        photos.get_object("conflict/a/b")


def test_no_symbolic_link_leads_out_of_a_bucket_folder(server, keys, tmp_path):
    """A link placed in a bucket folder (by hand, by a sync tool) is never followed: not by an
    OSS or native GET, not by a PUT, not by a job's source or target, not by a listing."""
    secret = tmp_path / "secret.txt"
    secret.write_bytes(b"outside the bucket")
    outside = tmp_path / "outside"
    outside.mkdir()
    folder = server.path("photos", "links")
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "passwd").symlink_to("/etc/passwd")
    (folder / "secret.txt").symlink_to(secret)
    (folder / "out").symlink_to(outside)
    photos = bucket(server, keys["rw"])
    for key in ["links/passwd", "links/secret.txt", "links/out/x"]:
        with pytest.raises(oss2.exceptions.OssError) as error:
            photos.get_object(key)
        assert (error.value.status, error.value.code) == (403, "AccessDenied"), key
        native = requests.get(f"{server.url}/v1/buckets/photos/objects/{key}", auth=keys["rw"], timeout=10)
        assert native.status_code == 403, (key, native.text)
        assert b"root:" not in native.content
    with pytest.raises(oss2.exceptions.OssError) as error:
        photos.put_object("links/out/planted", b"planted")
    assert error.value.status == 403
    with pytest.raises(oss2.exceptions.OssError) as error:
        photos.get_object("links/secret.txt", process="image/resize,w_10")
    assert error.value.status == 403
    assert list(outside.iterdir()) == []
    assert [o.key for o in oss2.ObjectIterator(photos, prefix="links/")] == []


def test_a_job_reads_its_source_from_s3_and_saves_its_targets_there(server, keys):
    """The S3 bucket (s3s-fs over HTTP, its secret given by a nested environment variable) as
    a job's source and targets: oss2's synchronous saveas, then an asynchronous job of two."""
    s3 = oss2.Bucket(oss2.Auth(*keys["rw"]), server.url, S3_BUCKET, is_cname=False)
    s3.put_object("jobs/gopher.jpg", fixture_bytes("gopher-640x427.jpg"))
    saveas = f"image/resize,w_100|sys/saveas,o_{b64('jobs/w100.jpg')},b_{b64(S3_BUCKET)}"
    result = s3.process_object("jobs/gopher.jpg", saveas)
    assert (result.status, result.process_status, result.bucket) == (200, "OK", S3_BUCKET)
    fops = [f"imageMogr2/thumbnail/64x/format/png|saveas/{b64(f'{S3_BUCKET}:jobs/64.png')}",
            f"imageMogr2/thumbnail/x50|saveas/{b64(f'{S3_BUCKET}:jobs/h50.jpg')}"]
    answer = requests.post(f"{server.url}/v1/jobs", auth=keys["rw"], timeout=10,
                           json={"bucket": S3_BUCKET, "key": "jobs/gopher.jpg", "fops": fops})
    assert answer.status_code == 202, answer.text
    job_id = answer.json()["id"]
    deadline = time.time() + 30
    while True:
        job = requests.get(f"{server.url}/v1/jobs/{job_id}", auth=keys["rw"], timeout=10).json()
        if job["code"] in (0, 3, 4) or time.time() > deadline:
            break
        time.sleep(0.1)
    assert job["status"] == "success", job
    for key, size in [("jobs/w100.jpg", (100, 67)), ("jobs/64.png", (64, 43)),
                      ("jobs/h50.jpg", (75, 50))]:
        stored = (server.s3.root / S3_BUCKET / key).read_bytes()
        assert image_size(stored) == size, key
        assert s3.get_object(key).read() == stored


def test_a_50_mib_object_round_trips_through_the_s3_bucket(server, keys):
    """One PUT of 50 MiB (streamed to S3 as a multipart write, never held whole), read back
    whole and by range, byte for byte what the S3 server keeps."""
    s3 = oss2.Bucket(oss2.Auth(*keys["rw"]), server.url, S3_BUCKET, is_cname=False)
    block = bytes(range(256)) * 4096  # 1 MiB
    data = b"".join(block[i:] + block[:i] for i in range(50))
    assert len(data) == 50 * 1024 * 1024
    put = s3.put_object("big/fifty.bin", data)
    assert put.status == 200
    assert (server.s3.root / S3_BUCKET / "big/fifty.bin").read_bytes() == data
    assert s3.get_object("big/fifty.bin").read() == data
    tail = s3.get_object("big/fifty.bin", byte_range=(len(data) - 10, len(data) - 1)).read()
    assert tail == data[-10:]
