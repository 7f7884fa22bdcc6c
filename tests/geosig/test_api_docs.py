"""The API documentation: the OpenAPI schema describes every endpoint (parameters, responses, one error
shape), and the offline Swagger UI page at /api/v1/docs/ renders all of it under the site's CSP."""
import re

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from tests.conftest import external_requests

pytestmark = pytest.mark.django_db

METHODS = ("get", "post", "put", "patch", "delete")
# Writes that take no body (the URL says it all); any other POST/PUT must describe its body.
BODYLESS_ACTIONS = {"/api/v1/corridors/{id}/cancel/", "/api/v1/pot/plans/{id}/revision/", "/api/v1/jobs/{id}/cancel/",
                    "/api/v1/connectivity/{id}/cancel/", "/api/v1/corridors/circuitscape/{id}/cancel/"}


def _schema(client) -> dict:
    r = client.get("/api/v1/schema/", {"format": "json"})
    assert r.status_code == 200
    return r.json()


def _api_routes(resolver=None, prefix="") -> set[str]:
    """Every /api/v1/ URL pattern of the project, as an OpenAPI path ({name} for each converter)."""
    resolver = resolver or get_resolver()
    out = set()
    for p in resolver.url_patterns:
        route = prefix + str(p.pattern)
        if isinstance(p, URLResolver):
            out |= _api_routes(p, route)
        elif isinstance(p, URLPattern) and route.startswith("api/v1/"):
            out.add("/" + re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", route))
    return out


def _operations(schema):
    for path, item in schema["paths"].items():
        for method in METHODS:
            if method in item:
                yield path, method, item[method]


def test_every_api_route_is_in_the_schema(client):
    schema = _schema(client)
    # drf-spectacular names int path parameters {id} where the URL says <int:pk>
    documented = {p.replace("{id}", "{pk}") for p in schema["paths"]}
    routes = {r for r in _api_routes() if r != "/api/v1/docs/"}  # the HTML page is not an API operation
    assert routes - documented == set()
    assert "/api/v1/layers/{slug}/tiles/{z}/{x}/{y}.pbf" in schema["paths"]  # plain Django views too
    assert "/api/v1/layers/{slug}/tiles/{z}/{x}/{y}.png" in schema["paths"]
    assert len(list(_operations(schema))) >= 51


def test_schema_generates_without_warnings_and_validates(tmp_path):
    """A view added without its description (or with a broken one) fails here, as in
    `manage.py spectacular --validate --fail-on-warn`."""
    from django.core.management import call_command

    out = tmp_path / "schema.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(out))
    assert "/api/v1/pot/conflicts/" in out.read_text()


def test_every_operation_describes_parameters_and_responses(client):
    schema = _schema(client)
    error = schema["components"]["schemas"]["Error"]
    assert set(error["required"]) == {"error", "detail"} and "context" in error["properties"]
    for path, method, op in _operations(schema):
        where = f"{method.upper()} {path}"
        assert op.get("summary"), where
        ok = [s for s in op["responses"] if s.startswith("2")]
        assert ok, where
        for status in ok:
            for media, content in op["responses"][status].get("content", {}).items():
                body = content["schema"]
                # a real shape: an object with properties, a list, a reference, or a binary file
                assert body.get("properties") or body.get("items") or body.get("$ref") or body.get("format") == "binary" \
                    or body.get("additionalProperties") or media.endswith("json"), (where, media)
        errors = [s for s in op["responses"] if s[0] == "4"]
        assert "400" in errors, where
        for status in errors:
            ref = op["responses"][status]["content"]["application/json"]["schema"]["$ref"]
            assert ref == "#/components/schemas/Error", where
        template = set(re.findall(r"{(\w+)}", path))
        declared = {p["name"] for p in op.get("parameters", []) if p["in"] == "path"}
        assert template == declared, where
        if method in ("post", "put") and path not in BODYLESS_ACTIONS:
            assert "requestBody" in op, where


def test_schema_states_bounds_and_choices(client):
    paths = _schema(client)["paths"]
    locate = {p["name"]: p["schema"] for p in paths["/api/v1/locate/"]["get"]["parameters"]}
    assert locate["lon"] == {"type": "number", "minimum": -180, "maximum": 180}
    conflicts = {p["name"]: p["schema"] for p in paths["/api/v1/pot/conflicts/"]["get"]["parameters"]}
    assert conflicts["buffer_m"]["maximum"] == 2000 and conflicts["ronda_m"]["maximum"] == 100
    assert conflicts["format"]["enum"] == ["json", "csv", "gpkg", "html", "pdf"]
    upload = paths["/api/v1/layers/upload/"]["post"]["requestBody"]["content"]
    assert upload["multipart/form-data"]["schema"]["properties"]["file"]["format"] == "binary"
    tile = paths["/api/v1/layers/{slug}/tiles/{z}/{x}/{y}.pbf"]["get"]
    assert "application/vnd.mapbox-vector-tile" in tile["responses"]["200"]["content"]
    zoom = next(p for p in tile["parameters"] if p["name"] == "z")["schema"]
    assert (zoom["minimum"], zoom["maximum"]) == (0, 22)


def test_docs_page_is_linked_and_local(client):
    home = client.get("/")
    assert 'href="/api/v1/docs/"' in home.content.decode()
    page = client.get("/api/v1/docs/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in html
    assert not re.search(r"""(src|href)=["']https?://""", html)  # nothing from a CDN
    assert "<script>" not in html  # the init script is a file (?script=), allowed by script-src 'self'
    init = client.get("/api/v1/docs/", {"script": ""})
    assert init.status_code == 200 and "SwaggerUIBundle" in init.content.decode()


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_docs_page_renders_every_endpoint_offline(page, live_server, client):
    errors = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(live_server.url + "/api/v1/docs/")
    page.wait_for_selector(".opblock-summary-path", timeout=30000)
    rendered = set(page.eval_on_selector_all(
        ".opblock-summary-path", "els => els.map(e => e.getAttribute('data-path'))"))
    methods = page.eval_on_selector_all(".opblock-summary-method", "els => els.length")
    schema = _schema(client)
    assert rendered == set(schema["paths"])
    assert methods == len(list(_operations(schema)))
    assert external_requests(page, live_server) == []
    assert [e for e in errors if "Content Security Policy" in e or "Refused" in e] == []
