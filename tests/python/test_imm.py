"""Smart media (the OSS document's section 4, IMM) with the unmodified `oss2`: `image/codes`
(QR codes and barcodes) on GET, through a signed URL fetched by a plain client, refused to
anonymous readers, and saved by a job. The codes are drawn here, with segno and
python-barcode."""

import base64
import io
import json

import barcode
import oss2
import pytest
import requests
import segno
from barcode.writer import ImageWriter
from PIL import Image, ImageOps

REGION = "cn-hangzhou"
QR_TEXT = "https://ferrotype.example/二维码?id=42"
EAN = "4006381333931"


def b64(text):
    return base64.urlsafe_b64encode(text.encode()).decode()


@pytest.fixture(scope="module")
def imm(server):
    key = server.key("imm:rw")
    return oss2.Bucket(oss2.Auth(*key), server.url, "imm", is_cname=False, region=REGION)


def qr_image(text, scale):
    out = io.BytesIO()
    segno.make_qr(text, error="m").save(out, kind="png", scale=scale, border=0)
    return Image.open(io.BytesIO(out.getvalue())).convert("RGB")


def ean_image():
    out = io.BytesIO()
    options = {"module_width": 0.4, "module_height": 15, "quiet_zone": 0, "write_text": False}
    barcode.get("ean13", EAN[:12], writer=ImageWriter()).write(out, options)
    return Image.open(io.BytesIO(out.getvalue())).convert("RGB")


def photo_with_codes():
    """A 900x700 JPEG: an EAN-13 near the top, a QR code below it. Returns the JPEG and where
    each code was pasted (left, top, width, height)."""
    canvas = Image.new("RGB", (900, 700), (236, 230, 220))
    ean, qr = ean_image(), qr_image(QR_TEXT, 8)
    canvas.paste(ean, (60, 40))
    canvas.paste(qr, (420, 300))
    out = io.BytesIO()
    canvas.save(out, format="JPEG", quality=92)
    # The writer leaves margins above and below the bars: the code is where the bars are.
    left, top, right, bottom = ImageOps.invert(ean.convert("L")).getbbox()
    bars = (60 + left, 40 + top, right - left, bottom - top)
    return out.getvalue(), bars, (420, 300) + qr.size


def close(boundary, placed, slack):
    found = (boundary["Left"], boundary["Top"], boundary["Width"], boundary["Height"])
    return all(abs(a - b) <= slack for a, b in zip(found, placed))


def test_codes_on_get_answer_imm_json(server, imm):
    jpeg, ean_at, qr_at = photo_with_codes()
    imm.put_object("shelf.jpg", jpeg)
    result = imm.get_object("shelf.jpg", process="image/codes")
    assert result.headers["Content-Type"] == "application/json"
    answer = json.loads(result.read())
    assert answer.pop("RequestId") == result.request_id
    codes = answer["Codes"]
    assert [c["Type"] for c in codes] == ["qrcode", "barcode"], answer
    qr, ean = codes
    assert qr["Content"] == QR_TEXT
    assert close(qr["Boundary"], qr_at, 3), (qr, qr_at)
    assert len(qr["Boundary"]["Polygon"]) == 4
    assert ean["Content"] == EAN
    # The row read is widened to the bars' height.
    assert close(ean["Boundary"], ean_at, 3), (ean, ean_at)
    # A second request is served from the stored result.
    again = imm.get_object("shelf.jpg", process="image/codes")
    second = json.loads(again.read())
    assert second.pop("RequestId") == again.request_id != result.request_id
    assert second == answer


def test_a_signed_url_serves_codes_and_anonymous_readers_are_refused(server, imm):
    jpeg, _, _ = photo_with_codes()
    imm.put_object("signed.jpg", jpeg)
    url = imm.sign_url("GET", "signed.jpg", 300, params={"x-oss-process": "image/codes"})
    answer = requests.get(url, timeout=60).json()
    assert [c["Content"] for c in answer["Codes"]] == [QR_TEXT, EAN]
    imm.put_bucket_acl(oss2.BUCKET_ACL_PUBLIC_READ)
    try:
        plain = f"{server.url}/imm/signed.jpg"
        assert requests.get(plain + "?x-oss-process=image/resize,w_50", timeout=60).status_code == 200
        refused = requests.get(plain + "?x-oss-process=image/codes", timeout=60)
        assert refused.status_code == 403
        assert "<Code>AccessDenied</Code>" in refused.text
    finally:
        imm.put_bucket_acl(oss2.BUCKET_ACL_PRIVATE)


def test_codes_refusals_and_a_picture_without_codes(server, imm):
    plain = Image.new("RGB", (300, 200), (90, 140, 200))
    out = io.BytesIO()
    plain.save(out, format="PNG")
    imm.put_object("sky.png", out.getvalue())
    empty = json.loads(imm.get_object("sky.png", process="image/codes").read())
    assert empty["Codes"] == [] and set(empty) == {"Codes", "RequestId"}
    for process in ("image/codes,x_1", "image/codes/resize,w_10", "image/resize,w_10/codes"):
        with pytest.raises(oss2.exceptions.OssError) as error:
            imm.get_object("sky.png", process=process)
        assert error.value.status == 400, process
        assert error.value.code == "InvalidArgument", process


def test_more_than_five_codes_answers_five_and_a_job_saves_them(server, imm):
    canvas = Image.new("RGB", (1000, 700), "white")
    for index in range(6):
        canvas.paste(qr_image(f"code {index}", 5), (40 + (index % 3) * 320, 40 + (index // 3) * 340))
    out = io.BytesIO()
    canvas.save(out, format="PNG")
    imm.put_object("six.png", out.getvalue())
    codes = json.loads(imm.get_object("six.png", process="image/codes").read())["Codes"]
    assert len(codes) == 5
    assert sorted(c["Content"] for c in codes) == [f"code {i}" for i in (0, 1, 2, 3, 4)]
    saved = imm.process_object("six.png", f"image/codes|sys/saveas,o_{b64('six.json')}")
    assert saved.status == 200 and saved.process_status == "OK"
    stored = json.loads(server.path("imm", "six.json").read_bytes())
    assert stored["Codes"] == codes


FIXTURES = __import__("pathlib").Path(__file__).resolve().parents[2] / "fixtures"


def test_detectface_on_get_answers_imm_json_with_its_request_members(server, imm):
    imm.put_object("astronaut.jpg", (FIXTURES / "face-astronaut-320x320.jpg").read_bytes())
    result = imm.get_object("astronaut.jpg", process="imm/detectface")
    assert result.headers["Content-Type"] == "application/json"
    answer = json.loads(result.read())
    assert answer.pop("RequestId") == result.request_id
    assert answer.pop("ImageUri") == "oss://imm/astronaut.jpg"
    assert answer.pop("httpStatusCode") == 200 and answer.pop("success") is True
    (face,) = answer["Faces"]
    box = face["FaceAttributes"]["FaceBoundary"]
    # The face of the 320x320 astronaut is at about (114, 40), 50x67.
    assert close(box, (114, 40, 50, 67), 8), face
    assert 0.9 < face["FaceConfidence"] <= 1 and len(face["FaceId"]) == 64
    assert set(face["FaceLandmarks"]) == {"LeftEye", "RightEye", "Nose", "MouthLeft", "MouthRight"}
    # The vendor's own example spells it "detecface": it is read the same.
    typo = json.loads(imm.get_object("astronaut.jpg", process="imm/detecface").read())
    assert typo["Faces"] == answer["Faces"]


def test_detectface_through_a_signed_url_refused_anonymously_and_saved_by_a_job(server, imm):
    imm.put_object("pair.jpg", (FIXTURES / "faces-two-640x320.jpg").read_bytes())
    url = imm.sign_url("GET", "pair.jpg", 300, params={"x-oss-process": "imm/detectface"})
    answer = requests.get(url, timeout=60).json()
    assert len(answer["Faces"]) == 2 and answer["success"] is True
    imm.put_bucket_acl(oss2.BUCKET_ACL_PUBLIC_READ)
    try:
        refused = requests.get(f"{server.url}/imm/pair.jpg?x-oss-process=imm/detectface", timeout=60)
        assert refused.status_code == 403 and "<Code>AccessDenied</Code>" in refused.text
    finally:
        imm.put_bucket_acl(oss2.BUCKET_ACL_PRIVATE)
    saved = imm.process_object("pair.jpg", f"imm/detectface|sys/saveas,o_{b64('pair.json')}")
    assert saved.status == 200 and saved.process_status == "OK"
    stored = json.loads(server.path("imm", "pair.json").read_bytes())
    assert stored["Faces"] == answer["Faces"]


def test_imm_actions_without_an_engine_are_refused_by_name(server, imm):
    imm.put_object("cat.jpg", (FIXTURES / "no-face-cat-300x225.jpg").read_bytes())
    assert json.loads(imm.get_object("cat.jpg", process="imm/detectface").read())["Faces"] == []
    for process, status, code in (
        ("imm/tagimage", 501, "NotImplemented"),
        ("imm/previewdoc,copy_1", 501, "NotImplemented"),
        ("imm/detectface,x_1", 400, "InvalidArgument"),
        ("imm/sing", 400, "InvalidArgument"),
    ):
        with pytest.raises(oss2.exceptions.OssError) as error:
            imm.get_object("cat.jpg", process=process)
        assert (error.value.status, error.value.code) == (status, code), process


def test_face_gravity_crops_and_fills_around_the_face(server, imm):
    imm.put_object("gravity.jpg", (FIXTURES / "face-astronaut-320x320.jpg").read_bytes())
    # The face's box is (114, 40) 50x67: a 100x100 cut around it starts at (89, 24).
    around = imm.get_object("gravity.jpg", process="image/crop,w_100,h_100,g_face").read()
    placed = imm.get_object("gravity.jpg", process="image/crop,x_89,y_24,w_100,h_100").read()
    assert around == placed
    fill = imm.get_object("gravity.jpg", process="image/resize,m_fill,w_100,h_300,g_face").read()
    assert Image.open(io.BytesIO(fill)).size == (100, 300)
    with pytest.raises(oss2.exceptions.OssError) as error:
        imm.get_object("gravity.jpg", process="image/resize,w_100,g_face")
    assert (error.value.status, error.value.code) == (400, "InvalidArgument")
