"""Every signature the unmodified `oss2` SDK sends, against the running service: V1, V2 and
V4 (also through a credentials provider) in the `Authorization` header for put, get and
process, and presigned URLs (`sign_url`) fetched with a plain HTTP client, the way a
browser or a CDN fetches them. Refusals come in OSS's words."""

import base64
import datetime as _datetime

import oss2
import oss2.auth
import pytest
import requests
from oss2.credentials import StaticCredentialsProvider

from conftest import fixture_bytes, image_size

REGION = "cn-hangzhou"  # the service's default `FERROTYPE_OSS_REGION`
KEY = "sig/a b+c~\u00e9.jpg"  # every character class the V2/V4 encodings treat apart


def b64(text):
    return base64.urlsafe_b64encode(text.encode()).decode()


AUTHS = {
    "v1": lambda ak, sk: oss2.Auth(ak, sk),
    "v2": lambda ak, sk: oss2.AuthV2(ak, sk),
    "v4": lambda ak, sk: oss2.AuthV4(ak, sk),
    "provider-v4": lambda ak, sk: oss2.ProviderAuthV4(StaticCredentialsProvider(ak, sk)),
}


def bucket(server, auth, name="photos", region=REGION):
    return oss2.Bucket(auth, server.url, name, is_cname=False, region=region)


def signed(server, keys, version, name="photos"):
    return bucket(server, AUTHS[version](*keys["rw"]), name)


def oss_error(response):
    """(status, Code, Message) of an OSS XML error answer."""
    text = response.text
    code = text.split("<Code>", 1)[1].split("</Code>", 1)[0]
    message = text.split("<Message>", 1)[1].split("</Message>", 1)[0]
    return response.status_code, code, message


@pytest.fixture
def frozen_clock(monkeypatch):
    """Sets the clock oss2's V4 signer reads (`datetime.utcnow`) `seconds` into the past."""

    def freeze(seconds):
        then = _datetime.datetime.utcnow() - _datetime.timedelta(seconds=seconds)

        class Then(_datetime.datetime):
            @classmethod
            def utcnow(cls):
                return then

        monkeypatch.setattr(oss2.auth, "datetime", Then)

    return freeze


@pytest.mark.parametrize("version", sorted(AUTHS))
def test_put_get_and_process_with_every_signature(server, keys, version):
    photos = signed(server, keys, version)
    data = fixture_bytes("gopher-640x427.jpg")
    key = f"{version}/{KEY}"
    assert photos.put_object(key, data, headers={"x-oss-meta-who": version}).status == 200
    assert photos.get_object(key).read() == data
    assert photos.head_object(key).content_length == len(data)
    target = f"out/{version}-w90.jpg"
    result = photos.process_object(
        key, f"image/resize,w_90|sys/saveas,o_{b64(target)},b_{b64('results')}"
    )
    assert result.process_status == "OK"
    assert image_size(server.path("results", target).read_bytes())[0] == 90


@pytest.mark.parametrize("version", ["v1", "v2", "v4"])
def test_presigned_get_and_put_with_a_plain_client(server, keys, version):
    photos = signed(server, keys, version)
    data = fixture_bytes("gopher-640x427.jpg")
    key = f"presigned-{version}/{KEY}"
    put = requests.put(photos.sign_url("PUT", key, 60), data=data, timeout=10)
    assert put.status_code == 200, put.text
    assert photos.get_object(key).read() == data
    got = requests.get(photos.sign_url("GET", key, 60), timeout=10)
    assert got.status_code == 200, got.text
    assert got.content == data
    typed = photos.sign_url("PUT", key + ".typed", 60, headers={"Content-Type": "image/jpeg"})
    put = requests.put(typed, data=data, headers={"Content-Type": "image/jpeg"}, timeout=10)
    assert put.status_code == 200, put.text


@pytest.mark.parametrize("version", ["v1", "v2", "v4"])
def test_a_tampered_url_is_signature_does_not_match(server, keys, version):
    photos = signed(server, keys, version)
    photos.put_object("tamper/a.jpg", b"a")
    photos.put_object("tamper/b.jpg", b"b")
    url = photos.sign_url("GET", "tamper/a.jpg", 60)
    other_key = requests.get(url.replace("tamper%2Fa.jpg", "tamper%2Fb.jpg"), timeout=10)
    status, code, message = oss_error(other_key)
    assert (status, code) == (403, "SignatureDoesNotMatch")
    assert message == (
        "The request signature we calculated does not match the signature you provided. "
        "Check your key and signing method."
    )
    as_put = requests.put(url, data=b"x", timeout=10)
    assert oss_error(as_put)[:2] == (403, "SignatureDoesNotMatch")
    extra = requests.get(url + "&response-content-type=text%2Fplain", timeout=10)
    assert oss_error(extra)[:2] == (403, "SignatureDoesNotMatch")


@pytest.mark.parametrize("version", ["v1", "v2"])
def test_an_expired_url_is_access_denied(server, keys, version):
    photos = signed(server, keys, version)
    photos.put_object("expired/a.jpg", b"a")
    url = photos.sign_url("GET", "expired/a.jpg", -5)
    assert oss_error(requests.get(url, timeout=10)) == (403, "AccessDenied", "Request has expired.")


def test_an_expired_v4_url_is_access_denied(server, keys, frozen_clock):
    photos = signed(server, keys, "v4")
    photos.put_object("expired/v4.jpg", b"a")
    frozen_clock(120)
    url = photos.sign_url("GET", "expired/v4.jpg", 60)
    assert oss_error(requests.get(url, timeout=10)) == (403, "AccessDenied", "Request has expired.")


def test_a_skewed_v4_date_is_request_time_too_skewed(server, keys, frozen_clock):
    photos = signed(server, keys, "v4")
    frozen_clock(20 * 60)
    with pytest.raises(oss2.exceptions.ServerError) as raised:
        photos.get_object("expired/v4.jpg")
    assert (raised.value.status, raised.value.code) == (403, "RequestTimeTooSkewed")


def test_v4_for_another_region_is_refused(server, keys):
    elsewhere = bucket(server, oss2.AuthV4(*keys["rw"]), region="cn-shanghai")
    with pytest.raises(oss2.exceptions.ServerError) as raised:
        elsewhere.put_object("region/a.jpg", b"a")
    assert (raised.value.status, raised.value.code) == (400, "InvalidArgument")
    assert "region" in raised.value.message
    url = elsewhere.sign_url("GET", "region/a.jpg", 60)
    status, code, _ = oss_error(requests.get(url, timeout=10))
    assert (status, code) == (400, "InvalidArgument")


@pytest.mark.parametrize("version", sorted(AUTHS))
def test_a_wrong_secret_or_an_unknown_key(server, keys, version):
    access, _ = keys["rw"]
    wrong = bucket(server, AUTHS[version](access, "not-the-secret-at-all"))
    with pytest.raises(oss2.exceptions.ServerError) as raised:
        wrong.put_object("wrong/a.jpg", b"a")
    assert (raised.value.status, raised.value.code) == (403, "SignatureDoesNotMatch")
    unknown = bucket(server, AUTHS[version]("FTNOSUCHKEY000000000", "secret"))
    with pytest.raises(oss2.exceptions.ServerError) as raised:
        unknown.get_object("wrong/a.jpg")
    assert (raised.value.status, raised.value.code) == (403, "InvalidAccessKeyId")


def test_malformed_credentials_are_refused_as_oss_does(server, keys):
    url = f"{server.url}/photos/whatever.jpg"
    date = oss2.utils.http_date()
    for authorization in ["OSS no-colon", "OSS2 AccessKeyId:ak", "Bearer abc"]:
        answer = requests.get(url, headers={"Authorization": authorization, "Date": date}, timeout=10)
        assert oss_error(answer) == (400, "InvalidArgument", "Authorization header is invalid.")
    half = requests.get(url + f"?OSSAccessKeyId={keys['rw'][0]}", timeout=10)
    assert oss_error(half)[:2] == (403, "AccessDenied")


def test_no_credentials_on_a_private_bucket_is_access_denied(server):
    anonymous = requests.get(f"{server.url}/photos/sig.jpg", timeout=10)
    assert oss_error(anonymous)[:2] == (403, "AccessDenied")
