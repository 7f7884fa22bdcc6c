"""Every conformance class the service declares is backed by a test (the map below), the OpenAPI document
validates against the OpenAPI 3.0 schema (shipped by pygeoapi), and schemathesis fuzzes every operation of
that document (no OGC CITE suite runs offline: it is Java on TEAM Engine; this is the offline substitute)."""
from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest


pytestmark = pytest.mark.django_db

# conformance class → the tests that check its requirements
BACKED = {
    "ogcapi-common-1/1.0/conf/core": ["test_features.py::test_landing_page_links_api_docs_conformance_and_data"],
    "ogcapi-common-1/1.0/conf/landing-page": ["test_features.py::test_landing_page_links_api_docs_conformance_and_data",
                                              "test_conformance.py::test_landing_and_conformance_requirements"],
    "ogcapi-common-1/1.0/conf/json": ["test_conformance.py::test_landing_and_conformance_requirements"],
    "ogcapi-common-1/1.0/conf/oas30": ["test_conformance.py::test_openapi_document_is_valid_openapi_30"],
    "ogcapi-common-2/1.0/conf/collections": ["test_features.py::test_collections_list_every_public_vector_layer_and_the_catalogue"],
    "ogcapi-features-1/1.0/conf/core": ["test_features.py::test_paging_with_next_and_prev_links",
                                        "test_features.py::test_bbox_is_applied_by_postgis",
                                        "test_features.py::test_one_item_and_a_missing_one",
                                        "test_gdal.py::test_ogrinfo_lists_collections_and_reads_the_42_municipalities"],
    "ogcapi-features-1/1.0/conf/geojson": ["test_features.py::test_42_municipalities_with_divipola_and_area",
                                           "test_conformance.py::test_fuzz_the_ogc_openapi_document"],
    "ogcapi-features-1/1.0/conf/oas30": ["test_conformance.py::test_openapi_document_is_valid_openapi_30"],
    "ogcapi-features-2/1.0/conf/crs": ["test_features.py::test_crs_epsg_9377_returns_metres_equal_to_postgis",
                                       "test_features.py::test_crs_epsg_4326_by_reference_is_lat_lon",
                                       "test_features.py::test_bbox_crs_in_metres"],
    "ogcapi-tiles-1/1.0/conf/core": ["test_tiles.py::test_tile_equals_the_layers_endpoint"],
    "ogcapi-tiles-1/1.0/conf/tileset": ["test_tiles.py::test_tilesets_of_a_layer_and_the_template"],
    "ogcapi-tiles-1/1.0/conf/tilesets-list": ["test_tiles.py::test_tilesets_of_a_layer_and_the_template"],
    "ogcapi-tiles-1/1.0/conf/geodata-tilesets": ["test_tiles.py::test_tilesets_of_a_layer_and_the_template"],
    "ogcapi-tiles-1/1.0/conf/mvt": ["test_tiles.py::test_tile_equals_the_layers_endpoint"],
    "ogcapi-tiles-1/1.0/conf/png": ["test_tiles.py::test_raster_tiles_equal_the_layers_png"],
    "tms/2.0/conf/tilematrixset": ["test_tiles.py::test_tile_matrix_set_definition"],
    "tms/2.0/conf/json-tilematrixset": ["test_tiles.py::test_tile_matrix_set_definition"],
    "ogcapi-records-1/1.0/conf/record-core": ["test_records.py::test_catalogue_collection_and_records"],
    "ogcapi-records-1/1.0/conf/record-collection": ["test_records.py::test_catalogue_collection_and_records"],
    "ogcapi-records-1/1.0/conf/record-api": ["test_records.py::test_search_q_bbox_type_datetime"],
    "ogcapi-records-1/1.0/conf/json": ["test_records.py::test_catalogue_collection_and_records"],
}


def test_every_declared_class_is_backed_by_existing_tests(client):
    declared = client.get("/ogc/conformance").json()["conformsTo"]
    short = {c.removeprefix("http://www.opengis.net/spec/") for c in declared}
    assert short == set(BACKED)
    here = Path(__file__).parent
    for tests in BACKED.values():
        for ref in tests:
            module, name = ref.split("::")
            assert f"def {name}(" in (here / module).read_text(), ref


def test_landing_and_conformance_requirements(client, territory):
    landing = client.get("/ogc/")
    assert landing.status_code == 200 and landing["Content-Type"] == "application/json"
    for l in landing.json()["links"]:
        assert l["href"].startswith("http") and l["rel"] and l["type"]
    conf = client.get("/ogc/conformance").json()
    assert all(c.startswith("http://www.opengis.net/spec/") for c in conf["conformsTo"])


def test_openapi_document_is_valid_openapi_30(client, territory):
    import importlib.util

    schema_path = Path(importlib.util.find_spec("pygeoapi").submodule_search_locations[0]) / \
        "schemas/openapi/openapi-3.0.x.json"
    meta = json.loads(schema_path.read_text())
    doc = client.get("/ogc/api").json()
    jsonschema.validate(doc, meta)  # raises on any invalid part
    broken = {**doc, "paths": {"sin-barra": {}}}  # the check can fail: a path must start with /
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, meta)


def test_fuzz_the_ogc_openapi_document(client, point_layer, pot_plans, settings, monkeypatch):
    """schemathesis generates valid and invalid requests from /ogc/api: no 5xx, documented statuses, bodies
    that match their schemas."""
    schemathesis = pytest.importorskip("schemathesis")
    from tests.geosig import test_schemathesis as harness

    from django.core import signals
    from django.core.wsgi import get_wsgi_application
    from django.db import close_old_connections

    settings.GEOSIG_THROTTLE_ENABLED = False
    raw = client.get("/ogc/api").json()
    raw["servers"] = [{"url": "/ogc"}]
    schema = schemathesis.openapi.from_dict(raw)
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    # half the cases get known-good path parameters (the harness's own pinning), the rest are random
    good = {"collectionId": "capa-puntos-prueba", "featureId": "3", "tileMatrixSetId": "WebMercatorQuad",
            "tileMatrix": 10, "tileRow": 496, "tileCol": 293}
    monkeypatch.setattr(harness, "pins", lambda path, data: good)
    try:
        stats = harness.run_operations(schema, get_wsgi_application(),
                                       {"headers": {"Accept-Encoding": "identity"}, "cookies": {}}, {})
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)
    print(f"\n[ogc schemathesis] cases={stats['cases']} 5xx={stats['server_errors']} "
          f"statuses={dict(sorted(stats['by_status'].items()))}")
    failures = {k: v[:2] for k, v in stats["failures"].items()}
    assert stats["cases"] > 100 and stats["server_errors"] == 0, json.dumps(failures, ensure_ascii=False)[:6000]
    assert not failures, json.dumps(failures, indent=1, ensure_ascii=False)[:6000]
