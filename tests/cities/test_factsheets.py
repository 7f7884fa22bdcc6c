"""Municipality and subregion fact sheets: registry, page, PDF (first page read with poppler's pdftotext),
JSON API, cache per data version, errors and English. Expected figures come from the staged CSVs read
here with the csv module and from ../shared/data/README.md §10 (Cali NBI 4.11 %)."""
import csv
import json
import subprocess

import pytest
from django.test import override_settings

from geosig import versioned
from territorial import factsheets
from territorial.models import IndicatorValue
from territorial.services import sources as S
from tests.conftest import RAW
from tests.territorial.test_pot_fixtures import pot_users  # noqa: F401  (fixture)

pytestmark = pytest.mark.django_db


def pdf_first_page_text(content: bytes, tmp_path) -> str:
    path = tmp_path / "ficha.pdf"
    path.write_bytes(content)
    return subprocess.run(["pdftotext", "-f", "1", "-l", "1", "-layout", str(path), "-"], check=True,
                          capture_output=True, text=True).stdout


def staged_nbi(code):
    with open(RAW / S.NBI_FILE, newline="", encoding="utf-8") as fh:
        return next(float(r["total_nbi"]) for r in csv.DictReader(fh) if r["divipola"] == code)


def test_registry_has_every_app_section_in_order(territory):
    keys = [s.key for s in factsheets.sections()]
    for key in ("identidad", "indicadores", "ciudades", "pot", "determinantes", "corredores"):
        assert key in keys
    assert keys.index("identidad") < keys.index("indicadores") < keys.index("ciudades") < keys.index("pot")


def test_every_section_builds_for_cali_and_sur(cities):
    for kind, code in (("municipio", "76001"), ("subregion", "sur")):
        sheet = factsheets.build_sheet(kind, code)
        assert [s["key"] for s in sheet["sections"]] == [s.key for s in factsheets.sections()]
        for s in sheet["sections"]:
            assert s["content"] is None or isinstance(s["content"], dict), s["key"]


def test_cali_sheet_indicators_and_city_role(cities):
    sheet = factsheets.build_sheet("municipio", "76001")
    by = {s["key"]: s["content"] for s in sheet["sections"]}
    nbi_row = next(r for r in by["indicadores"]["tables"][0]["rows"] if r[0].startswith("NBI: personas"))
    expected = f"{staged_nbi('76001'):.2f}".replace(".", ",")
    assert nbi_row[1] == "2018" and nbi_row[2] == expected == "4,11"
    assert nbi_row[4] == "6,18" and nbi_row[5] == "14,28"  # DANE department row; national row of the table
    idf_row = next(r for r in by["indicadores"]["tables"][0]["rows"] if r[0] == "Índice de Desempeño Fiscal (IDF)")
    assert idf_row[5] == "no publicado"
    role = dict(by["ciudades"]["facts"])
    assert any(k.startswith("Rango por población") and v.startswith("1 / 42") for k, v in role.items())
    assert role["Clase de tamaño"] == "Metrópoli"
    pop = dict(by["identidad"]["facts"])
    assert pop["Población 2018 (censo ajustado)"] == "2.227.642 hab."  # DANE CNPV 2018 ajustado


def test_subregion_sheet_lists_members_with_ranges(cities):
    sheet = factsheets.build_sheet("subregion", "buenaventura")
    by = {s["key"]: s["content"] for s in sheet["sections"]}
    members = by["indicadores"]["tables"][1]
    assert [r[0] for r in members["rows"]] == ["Buenaventura"] and members["rows"][0][1] == "16,65"


def test_page_and_errors(client, cities):
    resp = client.get("/fichas/municipio/76001/")
    html = resp.content.decode()
    assert resp.status_code == 200 and "Ficha municipal: Cali" in html and "4,11" in html
    assert 'href="?format=pdf"' in html and "/fichas/subregion/sur/" in html
    assert client.get("/fichas/subregion/sur/").status_code == 200
    missing = client.get("/fichas/municipio/99999/", HTTP_ACCEPT="text/html")
    assert missing.status_code == 404 and "99999" in missing.content.decode()
    assert client.get("/fichas/subregion/oriente-lejano/").status_code == 404
    bad = client.get("/fichas/municipio/76001/?format=docx")
    assert bad.status_code == 400 and "html, pdf" in bad.content.decode()


def test_english_sheet(client, cities):
    client.cookies["django_language"] = "en"
    html = client.get("/fichas/municipio/76001/").content.decode()
    assert "Municipal fact sheet: Cali" in html and "4.11" in html and "not published" in html


def test_pdf_first_page_has_name_and_nbi(client, cities, tmp_path):
    resp = client.get("/fichas/municipio/76109/?format=pdf")
    assert resp.status_code == 200 and resp["Content-Type"] == "application/pdf"
    assert resp.content[:5] == b"%PDF-" and "ficha_municipio_76109.pdf" in resp["Content-Disposition"]
    text = pdf_first_page_text(resp.content, tmp_path)
    assert "Buenaventura" in text and "16,65" in text


def test_cached_per_data_version(client, cities):
    def sheet():
        html = client.get("/fichas/municipio/76020/").content.decode()
        return html[html.index("<article"):html.index("</article>")]  # the page around it has a CSRF token

    first = sheet()
    assert sheet() == first  # same body, generation time included (the memo)
    v = IndicatorValue.objects.get(indicator__code="nbi_total", municipality__divipola="76020", year=2018)
    v.value = 99.123
    v.save()
    assert "99,12" not in client.get("/fichas/municipio/76020/").content.decode()  # no bump: still cached
    versioned.bump("territorial")  # what loaders and imports do after writing
    assert "99,12" in client.get("/fichas/municipio/76020/").content.decode()


def test_pdf_counts_against_the_reports_rate(client, cities, settings):
    import copy

    rf = copy.deepcopy(settings.REST_FRAMEWORK)
    rf["DEFAULT_THROTTLE_RATES"] = {"reports_anon": "1/min"}
    with override_settings(REST_FRAMEWORK=rf):
        assert client.get("/fichas/municipio/76001/?format=pdf").status_code == 200
        assert client.get("/fichas/municipio/76001/?format=pdf").status_code == 429
        assert client.get("/fichas/municipio/76001/").status_code == 200  # the page itself is not a report


def test_json_api(client, cities):
    resp = client.get("/api/v1/factsheets/municipio/76001/")
    data = json.loads(resp.content)
    assert resp.status_code == 200 and data["subject"]["name"] == "Cali" and data["subject"]["divipolas"] == ["76001"]
    assert {s["key"] for s in data["sections"]} >= {"identidad", "indicadores", "ciudades"}
    err = json.loads(client.get("/api/v1/factsheets/municipio/99999/").content)
    assert err["error"] == "not_found"
    assert client.get("/api/v1/factsheets/pais/co/").status_code == 400


def test_schema_documents_the_new_endpoints(client):
    schema = client.get("/api/v1/schema/?format=json").json()
    op = schema["paths"]["/api/v1/factsheets/{kind}/{code}/"]["get"]
    assert {"200", "404"} <= set(op["responses"])
    ind = schema["paths"]["/api/v1/indicators/"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    assert "references" in json.dumps(schema["components"]) or "references" in json.dumps(ind)


# ------------------------------------------------------------------ sections fed by POT, layers and corridors
def _square_m(cx, cy, w, h):
    from shapely.geometry import box

    return box(cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2)


def test_determinants_section_measures_area_and_length(cities):
    """A 1 km × 1 km determinant around Cali's cabecera (100 ha, hand-computed) and a 2 km watercourse."""
    from django.contrib.gis.geos import GEOSGeometry
    from shapely.geometry import LineString

    from territorial.models import Municipality
    from territorial.pot.models import Determinant, DeterminantPiece
    from tests.territorial.test_pot_fixtures import cabecera_m

    cali = Municipality.objects.get(divipola="76001")
    x, y = cabecera_m(cali)
    poly = Determinant.objects.create(code="prueba-area", name="Área de prueba", kind="polygon")
    river = Determinant.objects.create(code="prueba-ronda", name="Ronda de prueba", kind="ronda")
    DeterminantPiece.objects.create(determinant=poly, geom_m=GEOSGeometry(_square_m(x, y, 1000, 1000).wkt, srid=9377))
    DeterminantPiece.objects.create(determinant=river, geom_m=GEOSGeometry(
        LineString([(x - 1000, y + 100), (x + 1000, y + 100)]).wkt, srid=9377))
    content = factsheets.build_sheet("municipio", "76001")["sections"]
    rows = next(s["content"] for s in content if s["key"] == "determinantes")["tables"][0]["rows"]
    share = f"{100 * 1e6 / (cali.area_km2 * 1e6):.2f}".replace(".", ",")
    assert ["Área de prueba", "100,0\u00a0ha", f"{share}\u00a0%"] in rows
    assert ["Ronda de prueba — cauces", "2,0\u00a0km", "—"] in rows
    far = factsheets.build_sheet("municipio", "76109")["sections"]  # Buenaventura: not touched
    assert next(s["content"] for s in far if s["key"] == "determinantes")["tables"] == []


def test_pot_section_lists_the_published_plan(cities, pot_users):
    from territorial.pot.models import Plan
    from territorial.pot.services.plans import create_plan

    plan = create_plan(pot_users["planner"], pot_users["cali"], "POT de prueba")
    none = factsheets.build_sheet("municipio", "76001")["sections"]
    assert next(s["content"] for s in none if s["key"] == "pot") is None  # a draft is not public
    Plan.objects.filter(pk=plan.pk).update(status="aprobada")
    content = next(s["content"] for s in factsheets.build_sheet("municipio", "76001")["sections"] if s["key"] == "pot")
    assert content["tables"][0]["rows"] == [["Cali", "POT de prueba", "Aprobada", str(plan.version)]]


def test_corridors_section_reads_the_latest_run(cities, tmp_path, settings):
    """A finished run whose map has one corridor (1 × 2 km, 200 ha) and one path (3 km) inside Cali."""
    import json as _json

    import geopandas as gpd
    from django.utils import timezone
    from shapely.geometry import LineString

    from layers.corridors.models import CorridorRun
    from territorial.models import Municipality
    from tests.territorial.test_pot_fixtures import cabecera_m

    settings.MEDIA_ROOT = str(tmp_path)
    x, y = cabecera_m(Municipality.objects.get(divipola="76001"))
    corridor = gpd.GeoDataFrame([{"Link_ID": 1, "Core1_Name": "Farallones", "Core2_Name": "Otro"}],
                                geometry=[_square_m(x, y, 1000, 2000)], crs=9377).to_crs(4326)
    path = gpd.GeoDataFrame([{"Link_ID": 1, "Core1_Name": "Farallones", "Core2_Name": "Otro"}],
                            geometry=[LineString([(x - 1500, y), (x + 1500, y)])], crs=9377).to_crs(4326)
    (tmp_path / "corridors" / "1").mkdir(parents=True)
    (tmp_path / "corridors" / "1" / "mapa.json").write_text(_json.dumps({
        "cores": {"type": "FeatureCollection", "features": []},
        "paths": _json.loads(path.to_json()), "corridors": _json.loads(corridor.to_json())}))
    CorridorRun.objects.create(inputs_hash="x" * 64, status="done", result_dir="corridors/1",
                               finished_at=timezone.now())
    sections = factsheets.build_sheet("municipio", "76001")["sections"]
    rows = next(s["content"] for s in sections if s["key"] == "corredores")["tables"][0]["rows"]
    assert ["Corredor", "1", "Farallones – Otro", "200,0\u00a0ha"] in rows
    assert ["Ruta de menor costo", "1", "Farallones – Otro", "3,0\u00a0km"] in rows
    far = next(s["content"] for s in factsheets.build_sheet("municipio", "76109")["sections"] if s["key"] == "corredores")
    assert "Ningún corredor" in far["paragraphs"][0]
