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
