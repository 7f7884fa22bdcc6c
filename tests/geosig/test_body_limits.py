"""Request bodies over the limit are refused (413, Spanish) from Content-Length before anything parses
them; Django's own RequestDataTooBig / TooManyFieldsSent answer in Spanish too (not an English 400)."""
import http.client
import io
import json
from urllib.parse import urlsplit

import pytest
from django.test import RequestFactory

from geosig.errors import UploadTooLarge
from geosig.middleware import BodySizeLimitMiddleware, _CappedStream

pytestmark = pytest.mark.django_db


@pytest.fixture
def small_limits(settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    settings.GEOSIG_MAX_UPLOAD_BYTES = 5000
    return settings


def _json_body(n):
    return json.dumps({"area": {"kind": "municipio", "code": "76001"}, "pad": "x" * n})


def _refused(resp, limit_mb="0.0"):
    assert resp.status_code == 413, resp.content[:300]
    body = resp.json()
    assert body["error"] == "upload_too_large"
    assert f"máximo permitido es {limit_mb} MB" in body["detail"] and "Nada se guardó" in body["detail"]
    return body


def test_json_body_over_the_limit_is_refused_before_parsing(client, small_limits, monkeypatch):
    import layers.api

    def never(*a, **k):
        raise AssertionError("the view ran")

    monkeypatch.setattr(layers.api, "overlay_summary", never)
    body = _refused(client.post("/api/v1/overlay/", _json_body(2000), content_type="application/json"))
    assert body["context"]["max_bytes"] == 1000
    assert "pesa 0.0 MB" in body["detail"]


def test_declared_length_decides_not_the_bytes_sent(client, small_limits):
    """Content-Length is enough to refuse: the body is not read (here it is even shorter)."""
    resp = client.post("/api/v1/overlay/", "{}", content_type="application/json", CONTENT_LENGTH="10000000")
    body = _refused(resp)
    assert "pesa 10.0 MB" in body["detail"]


def test_understated_length_reads_only_what_was_declared(client, small_limits):
    """A body longer than its Content-Length is cut at the declared length (here: invalid JSON → 400)."""
    resp = client.post("/api/v1/overlay/", _json_body(5000), content_type="application/json", CONTENT_LENGTH="20")
    assert resp.status_code == 400 and resp.json()["error"] in ("parse_error", "invalid_parameter")


def test_small_bodies_pass(client, small_limits, territory):
    resp = client.post("/api/v1/overlay/", _json_body(10), content_type="application/json")
    assert resp.status_code == 200


def test_upload_urls_take_the_upload_limit(client, small_limits, django_user_model):
    """Multipart to an upload endpoint may reach GEOSIG_MAX_UPLOAD_BYTES; anywhere else the small limit."""
    client.force_login(django_user_model.objects.create_user("sube", password="x"))
    f = io.BytesIO(b"a" * 3000)
    f.name = "capa.geojson"
    resp = client.post("/api/v1/layers/upload/", {"file": f})
    assert resp.status_code == 403  # passed the size gate (3 KB < 5 KB); no upload role
    f.seek(0)
    _refused(client.post("/api/v1/overlay/", {"file": f}))  # 3 KB > 1 KB: not an upload URL
    big = io.BytesIO(b"a" * 6000)
    big.name = "capa.geojson"
    _refused(client.post("/api/v1/layers/upload/", {"file": big}))


def test_anonymous_uploads_get_the_small_limit(small_limits, monkeypatch):
    """The upload limit is for signed-in users: with CSRF enforced (as in production) Django's CSRF check
    parses a multipart body, files to disk, before any view or rate limit, so an anonymous 100 MB post to
    /capas/subir/ was read in full. Now it is refused from its Content-Length like any other body."""
    from django.middleware import csrf
    from django.test import Client

    reads = []
    real = csrf.CsrfViewMiddleware._check_token
    monkeypatch.setattr(csrf.CsrfViewMiddleware, "_check_token",
                        lambda self, request: reads.append(request.path) or real(self, request))
    anon = Client(enforce_csrf_checks=True)
    anon.get("/cuentas/ingresar/")  # the CSRF cookie any visitor gets (login form)
    token = anon.cookies["csrftoken"].value
    f = io.BytesIO(b"a" * 3000)  # 3 KB: under the 5 KB upload limit, over the 1 KB general one
    f.name = "capa.geojson"
    for url in ("/capas/subir/", "/api/v1/layers/upload/"):
        f.seek(0)
        _refused(anon.post(url, {"file": f, "csrfmiddlewaretoken": token}))
    assert reads == []  # refused before the CSRF check read a byte


def test_html_pages_get_a_spanish_page(client, small_limits):
    resp = client.post("/cuentas/ingresar/", {"username": "x" * 2000, "password": "y"}, HTTP_ACCEPT="text/html")
    assert resp.status_code == 413
    html = resp.content.decode()
    assert "Solicitud demasiado grande" in html and "máximo permitido es 0.0 MB" in html


def test_django_request_data_too_big_is_a_spanish_413(client, settings, django_user_model):
    """Multipart form fields (not files) above DATA_UPLOAD_MAX_MEMORY_SIZE inside an upload: Django raises
    RequestDataTooBig while parsing; it answers 413 in Spanish, not an English 400 page."""
    from tests.conftest import restore_layer_roles
    from django.contrib.auth.models import Group

    restore_layer_roles()
    user = django_user_model.objects.create_user("editora", password="x")
    user.groups.add(Group.objects.get(name="Editor de capas"))
    client.force_login(user)
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000  # the body (~2 KB) is below GEOSIG_MAX_UPLOAD_BYTES
    for url in ("/api/v1/layers/upload/", "/capas/subir/"):
        resp = client.post(url, {"title": "t" * 2000})
        _refused(resp)


def test_too_many_fields_is_a_spanish_400(client, settings):
    settings.DATA_UPLOAD_MAX_NUMBER_FIELDS = 10
    data = "&".join(f"f{i}=1" for i in range(20))
    resp = client.post("/cuentas/ingresar/", data, content_type="application/x-www-form-urlencoded")
    assert resp.status_code == 400
    assert resp.json() == {"error": "invalid_parameter", "detail": "El formulario tiene más de 10 campos."}


def test_capped_stream_stops_at_the_limit():
    """Defence in depth for servers that pass a body without (or beyond) its Content-Length."""
    s = _CappedStream(io.BytesIO(b"a" * 100), 50)
    assert s.read(40) == b"a" * 40
    with pytest.raises(UploadTooLarge, match="máximo permitido"):
        s.read(40)
    lines = _CappedStream(io.BytesIO(b"x\n" * 100), 50)
    with pytest.raises(UploadTooLarge):
        list(lines)


def test_stream_cap_refuses_an_unannounced_body(settings):
    """A WSGI request whose stream yields more than the limit with no Content-Length: the view reading it
    gets UploadTooLarge, which the middleware answers with 413."""
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    request = RequestFactory().post("/api/v1/overlay/", b"", content_type="application/json")
    request.META.pop("CONTENT_LENGTH", None)

    def view(req):
        req._stream.stream = io.BytesIO(b"{" + b" " * 5000)  # what a lax server could hand over
        try:
            req.read()
        except UploadTooLarge as exc:
            return mw.process_exception(req, exc)
        raise AssertionError("read past the limit")

    mw = BodySizeLimitMiddleware(view)
    resp = mw(request)
    assert resp.status_code == 413 and "máximo permitido es 0.0 MB" in json.loads(resp.content)["detail"]


@pytest.mark.django_db(transaction=True)
def test_real_http_lying_and_absent_content_length(live_server, settings):
    """Over a real socket: a Content-Length over the limit is answered at once without the body; a
    chunked body without Content-Length is never read (Django sees an empty body → 400, no 500)."""
    host = urlsplit(live_server.url)
    # the declared 50 MB never arrive: the answer comes from the header alone
    conn = http.client.HTTPConnection(host.hostname, host.port, timeout=10)
    conn.putrequest("POST", "/api/v1/overlay/")
    conn.putheader("Content-Type", "application/json")
    conn.putheader("Content-Length", str(50 * 1024 * 1024))
    conn.endheaders()
    conn.send(b'{"area": ')
    resp = conn.getresponse()
    assert resp.status == 413, resp.getheaders()
    # read what the header announces (the dev server then drains the body that never comes)
    assert "máximo permitido es 10.5 MB" in json.loads(resp.read(int(resp.getheader("Content-Length"))))["detail"]
    conn.close()
    # chunked, no Content-Length: the body offered is never parsed (the answer comes before it ends)
    conn = http.client.HTTPConnection(host.hostname, host.port, timeout=30)
    conn.putrequest("POST", "/api/v1/overlay/")
    conn.putheader("Content-Type", "application/json")
    conn.putheader("Transfer-Encoding", "chunked")
    conn.endheaders()
    chunk = b"[" + b"1," * 32 * 1024
    conn.send(b"%x\r\n%s\r\n" % (len(chunk), chunk))
    resp = conn.getresponse()
    assert resp.status == 400
    assert json.loads(resp.read(int(resp.getheader("Content-Length"))))["error"] == "invalid_parameter"
    conn.close()
