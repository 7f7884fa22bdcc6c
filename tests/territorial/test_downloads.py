"""Territorial and POT downloads go through geosig.formats: the registry's content type, a safe
Content-Disposition, and user text that looks like a formula neutralised in the CSV."""
import csv
import io

import pyogrio
import pytest

from territorial.pot.services.plans import create_plan, system_replace_zones

from .test_pot_fixtures import cabecera_m, cali_plan, fc, pot_users, square_feature  # noqa: F401

pytestmark = pytest.mark.django_db
FORMULA_NAME = '=HYPERLINK("http://x","y")'


def _gpkg_count(content: bytes, tmp_path, layer=None) -> int:
    path = tmp_path / "x.gpkg"
    path.write_bytes(content)
    return len(pyogrio.read_dataframe(path, layer=layer))


def test_territorial_csv_and_gpkg(client, territory, tmp_path):
    r = client.get("/api/v1/downloads/indicators.csv?code=poblacion_total")
    assert r["Content-Type"] == "text/csv; charset=utf-8"
    assert r["Content-Disposition"] == 'attachment; filename="geosig_valle_indicators.csv"'
    rows = list(csv.DictReader(io.StringIO(r.content.decode())))
    assert len(rows) == 42 * 13 and all(float(row["valor"]) > 0 for row in rows)
    r = client.get("/api/v1/downloads/municipalities.gpkg")
    assert r["Content-Type"] == "application/geopackage+sqlite3"
    assert r["Content-Disposition"] == 'attachment; filename="geosig_valle_municipalities.gpkg"'
    assert _gpkg_count(r.content, tmp_path) == 42
    assert [name for name, _ in pyogrio.list_layers(tmp_path / "x.gpkg")] == ["valle_municipalities"]
    r = client.get("/api/v1/downloads/subregions.geojson")
    assert r["Content-Type"] == "application/geo+json" and 'filename="geosig_valle_subregions.geojson"' in r["Content-Disposition"]


def _conflicting_plan(pot_users, name):  # noqa: F811
    plan = create_plan(pot_users["planner"], pot_users["cali"], name)
    x, y = cabecera_m(pot_users["cali"])
    # overlapping zones: a user's save refuses them since issue #9; stored as a loader (or older data) would
    system_replace_zones(plan, fc(
        square_feature(x, y, x + 1000, y + 1000, "urbano"), square_feature(x + 500, y, x + 1500, y + 1000, "rural")),
        "importar")
    return plan


def test_pot_conflicts_csv_neutralises_a_formula_plan_name(client, pot_users, tmp_path):  # noqa: F811
    plan = _conflicting_plan(pot_users, FORMULA_NAME)
    client.force_login(pot_users["analyst"])
    r = client.get(f"/api/v1/pot/conflicts/?plan={plan.pk}&modes=internal&format=csv")
    assert r["Content-Type"] == "text/csv; charset=utf-8"
    assert r["Content-Disposition"] == f'attachment; filename="conflictos_pot_{plan.pk}.csv"'
    rows = list(csv.DictReader(io.StringIO(r.content.decode())))
    overlap = [row for row in rows if row["kind"] == "superposicion"]
    assert overlap and overlap[0]["plan_name"] == "'" + FORMULA_NAME
    assert float(overlap[0]["area_m2"]) == pytest.approx(500_000, abs=1)  # numbers are not touched

    r = client.get(f"/api/v1/pot/conflicts/?plan={plan.pk}&modes=internal&format=gpkg")
    assert r["Content-Type"] == "application/geopackage+sqlite3"
    assert r["Content-Disposition"] == f'attachment; filename="conflictos_pot_{plan.pk}.gpkg"'
    assert _gpkg_count(r.content, tmp_path, layer="superposicion") == 1
    layers = [name for name, _ in pyogrio.list_layers(tmp_path / "x.gpkg")]
    assert "resumen" in layers and "superposicion" in layers


def test_pot_conflicts_html_opens_inline_and_pdf_downloads(client, pot_users):  # noqa: F811
    plan = _conflicting_plan(pot_users, "Propuesta")
    client.force_login(pot_users["analyst"])
    r = client.get("/api/v1/pot/conflicts/", {"plan": plan.pk, "modes": "internal", "format": "html"})
    assert r.status_code == 200 and r["Content-Type"] == "text/html; charset=utf-8"
    assert r["Content-Disposition"] == f'inline; filename="conflictos_pot_{plan.pk}.html"'
    r = client.get("/api/v1/pot/conflicts/", {"plan": plan.pk, "modes": "internal", "format": "pdf"})
    assert r["Content-Type"] == "application/pdf" and r.content.startswith(b"%PDF")
    assert r["Content-Disposition"] == f'attachment; filename="conflictos_pot_{plan.pk}.pdf"'


def test_pot_plan_export_gpkg_and_shapefile(client, pot_users, tmp_path):  # noqa: F811
    plan = _conflicting_plan(pot_users, "Tuluá 2026")
    client.force_login(pot_users["planner"])
    stem = f"pot_76001_plan{plan.pk}_v{plan.version}"
    r = client.get(f"/api/v1/pot/plans/{plan.pk}/export.gpkg")
    assert r["Content-Type"] == "application/geopackage+sqlite3"
    assert r["Content-Disposition"] == f'attachment; filename="{stem}.gpkg"'
    assert _gpkg_count(r.content, tmp_path, layer="zonas") == 2
    r = client.get(f"/api/v1/pot/plans/{plan.pk}/export.shp")
    assert r["Content-Type"] == "application/zip"
    assert r["Content-Disposition"] == f'attachment; filename="{stem}.zip"'
    r = client.get(f"/api/v1/pot/plans/{plan.pk}/export.geojson")
    assert r["Content-Type"] == "application/geo+json"
    assert len(pyogrio.read_dataframe(io.BytesIO(r.content))) == 2
