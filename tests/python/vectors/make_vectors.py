"""Signature vectors from the SDKs' own code, for the Rust unit tests in `api/src/oss/auth/`
and `api/src/qiniu/auth.rs`.

Run: `python3 tests/python/vectors/make_vectors.py` (oss2 2.19.1, qiniu 7.18.0). The clock is
fixed (`time.time`, `datetime.utcnow`) so the output never changes; it prints one JSON object
per vector: the request as the SDK would send it (method, headers, bucket, key, decoded query)
and the signature it computed. The Rust tests hold these literals.
"""

import datetime as _datetime
import json
import time
from urllib.parse import parse_qsl, urlsplit

import oss2
import oss2.auth
import qiniu

NOW = 1700000000  # 2023-11-14T22:13:20Z
AK = "FTEXAMPLEACCESSKEY00"
SK = "ExampleSecretKeyExampleSecretKeyExample1"
ENDPOINT = "http://127.0.0.1:8080"
BUCKET = "photos"
KEY = "dir/a b+c~\u00e9.jpg"


class FixedDatetime(_datetime.datetime):
    @classmethod
    def utcnow(cls):
        return _datetime.datetime(2023, 11, 14, 22, 13, 20)


time.time = lambda: float(NOW)
oss2.auth.datetime = FixedDatetime

AUTHS = {
    "v1": oss2.Auth(AK, SK),
    "v2": oss2.AuthV2(AK, SK),
    "v4": oss2.AuthV4(AK, SK),
}


def sent_headers(req):
    return {k.lower(): v for k, v in req.headers.items() if v is not None and k.lower() != "user-agent"}


def header_vector(version, method, headers, params):
    req = oss2.http.Request(method, f"{ENDPOINT}/{BUCKET}/x", headers=dict(headers), params=dict(params),
                            region="cn-hangzhou", product="oss")
    AUTHS[version]._sign_request(req, BUCKET, KEY)
    return {"version": version, "form": "header", "method": method, "headers": sent_headers(req),
            "bucket": BUCKET, "key": KEY, "query": sorted(params.items())}


def query_vector(version, method, headers, params):
    bucket = oss2.Bucket(AUTHS[version], ENDPOINT, BUCKET, region="cn-hangzhou")
    url = bucket.sign_url(method, KEY, 60, headers=dict(headers) or None, params=dict(params) or None)
    query = parse_qsl(urlsplit(url).query, keep_blank_values=True)
    return {"version": version, "form": "query", "method": method, "headers": dict(headers),
            "bucket": BUCKET, "key": KEY, "query": query, "url": url}


def main():
    put_headers = {"Content-Type": "image/jpeg", "Content-MD5": "1B2M2Y8AsgTpgAmY7PhCfg==",
                   "x-oss-meta-author": "ferrotype"}
    get_params = {"x-oss-process": "image/resize,w_100", "response-content-type": "image/png",
                  "extra": "a b/c"}
    for version in ("v1", "v2", "v4"):
        print(json.dumps(header_vector(version, "PUT", put_headers, {}), ensure_ascii=False))
        print(json.dumps(header_vector(version, "GET", {"Range": "bytes=0-9"}, get_params), ensure_ascii=False))
        print(json.dumps(query_vector(version, "GET", {}, get_params), ensure_ascii=False))
        print(json.dumps(query_vector(version, "PUT", {"Content-Type": "image/jpeg"}, {}), ensure_ascii=False))
    auth = qiniu.Auth(AK, SK)
    for base in ("http://dl.example.com/dir/a%20b.jpg", "https://dl.example.com/k.jpg?imageView2/2/w/100"):
        print(json.dumps({"version": "qiniu", "url": auth.private_download_url(base, 3600)}))


if __name__ == "__main__":
    main()
