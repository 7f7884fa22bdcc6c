"""DANE NBI 2018 and DNP IDF 2023 loaded for the 42 municipalities, served by /api/v1/indicators/.

Independent answers: the staged CSVs read here with the csv module, the figures quoted by
../shared/data/README.md §10 (Cali 4.11 %, Buenaventura 16.65 %, national 14.28 %, Cali IDF 69.18),
and the official workbooks read cell by cell (openpyxl) for the department rows.
"""
import csv
from pathlib import Path
import json

import openpyxl
import pytest

from geosig.errors import DataFileError
from territorial.models import IndicatorReference, IndicatorValue
from territorial.services import sources as S
from territorial.services.loading import load_territory
from tests.conftest import RAW

pytestmark = pytest.mark.django_db


def staged(rel, column):
    with open(RAW / rel, newline="", encoding="utf-8") as fh:
        return {r["divipola"]: float(r[column]) if r[column] != "" else None for r in csv.DictReader(fh)}


def api(client, code, year, status=200):
    resp = client.get(f"/api/v1/indicators/?code={code}&year={year}")
    assert resp.status_code == status, resp.content[:300]
    return json.loads(resp.content)


def test_nbi_2018_equals_the_staged_dane_table(client, territory):
    table = staged(S.NBI_FILE, "total_nbi")
    valle = {k: v for k, v in table.items() if k.startswith("76")}
    assert len(valle) == 42
    data = api(client, "nbi_total", 2018)
    got = {v["divipola"]: v["value"] for v in data["values"]}
    assert set(got) == set(valle)
    for code, value in valle.items():
        assert round(got[code], 2) == round(value, 2) and got[code] == pytest.approx(value, abs=1e-6), code
    assert round(got["76001"], 2) == 4.11 and round(got["76109"], 2) == 16.65  # README §10
    assert data["year"] == 2018 and data["unit"] == "%" and "DANE" in data["source"] and "CNPV 2018" in data["source"]
    assert {v["source"] for v in data["values"]} == {data["source"]}
    refs = {r["scope"]: r for r in data["references"]}
    assert refs["nacional"]["published"] and round(refs["nacional"]["value"], 2) == 14.28 == round(table["00000"], 2)
    # the official department row of DANE's workbook (sheet Departamento_OLD, row 76), read by hand: 6.18
    assert refs["departamento"]["value"] == 6.18 and refs["departamento"]["label"] == "Valle del Cauca"
    assert "Departamento_OLD" in refs["departamento"]["note"] and "14,13" in refs["departamento"]["note"]


@pytest.mark.parametrize("code,column", [("nbi_cabecera", "cabecera_nbi"), ("nbi_rural", "rural_nbi"),
                                         ("nbi_miseria", "total_miseria"), ("nbi_hacinamiento", "total_hacinamiento")])
def test_nbi_parts_equal_their_columns(client, territory, code, column):
    table = staged(S.NBI_FILE, column)
    got = {v["divipola"]: v["value"] for v in api(client, code, 2018)["values"]}
    assert len(got) == 42 and all(got[c] == pytest.approx(table[c], abs=1e-6) for c in got)


def test_idf_2023_equals_the_staged_dnp_table(client, territory):
    table = staged(S.IDF_FILE, "Nuevo IDF")
    valle = {k: v for k, v in table.items() if k.startswith("76")}
    data = api(client, "idf", 2023)
    got = {v["divipola"]: v["value"] for v in data["values"]}
    assert len(got) == 42 == len(valle)
    assert all(round(got[c], 2) == round(valle[c], 2) for c in valle)
    # README §10 quotes «Cali 69.18»: that is the column «Nuevo IDF (sin bonos)»; the final score is «Nuevo
    # IDF» (69.61), the one DNP's own «Rango» classifies (checked for every row below)
    assert round(got["76001"], 2) == 69.61
    sin_bonos = {v["divipola"]: v["value"] for v in api(client, "idf_sin_bonos", 2023)["values"]}
    assert round(sin_bonos["76001"], 2) == 69.18
    assert data["unit"] == "puntos (0–100)" and "DNP" in data["source"] and "2023" in data["source"]
    refs = {r["scope"]: r for r in data["references"]}
    # no national row in the DNP table: not published, not averaged
    assert refs["nacional"]["value"] is None and refs["nacional"]["published"] is False
    assert "No publicado" in refs["nacional"]["note"]
    # the department row is the Gobernación's own IDF (sheet «Departamentos 2023», 76000), said so
    assert round(refs["departamento"]["value"], 2) == 72.90
    assert "Gobernación" in refs["departamento"]["label"] and "no es un promedio" in refs["departamento"]["note"]


def test_flat_csv_is_the_workbook(territory):
    """The staged CSV is a faithful copy of DANE's sheet for the Valle (6 decimals)."""
    wb = openpyxl.load_workbook(RAW / S.NBI_WORKBOOK, read_only=True)
    rows = [r for r in wb["Municipios"].iter_rows(values_only=True) if r[0] == "76"]
    wb.close()
    table = staged(S.NBI_FILE, "total_nbi")
    assert len(rows) == 42
    for r in rows:
        assert table[r[0] + r[2]] == pytest.approx(r[4], abs=1e-6)


def test_department_nbi_row_matches_workbook_for_every_part(territory):
    wb = openpyxl.load_workbook(RAW / S.NBI_WORKBOOK, read_only=True)
    valle = next(r for r in wb["Departamento_OLD"].iter_rows(values_only=True) if r[0] == "76")
    wb.close()
    # hand-placed: total NBI, cabecera NBI, rural NBI, total miseria
    expected = {"nbi_total": valle[2], "nbi_cabecera": valle[9], "nbi_rural": valle[16], "nbi_miseria": valle[3]}
    for code, value in expected.items():
        ref = IndicatorReference.objects.get(indicator__code=code, year=2018, scope="departamento")
        assert ref.value == value, code


def test_unknown_year_is_a_spanish_400(client, territory):
    err = api(client, "nbi_total", 2005, status=400)
    assert "2018" in err["detail"]


def test_missing_workbook_names_it_and_changes_nothing(territory, tmp_path):
    import shutil

    for rel in (S.MUNICIPALITIES_FILE, S.FACTS_FILE, S.PROJECTIONS_FILE, S.SUBREGIONS_FILE, S.NBI_FILE, S.IDF_FILE,
                S.NBI_WORKBOOK):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(RAW / rel, tmp_path / rel)
    IndicatorValue.objects.filter(indicator__code="idf").update(value=-1)
    with pytest.raises(DataFileError, match="ResultadosIDF_2023.xlsx"):
        load_territory(tmp_path)
    assert set(IndicatorValue.objects.filter(indicator__code="idf").values_list("value", flat=True)) == {-1}


def test_dnp_rango_follows_the_final_score():
    """Why ``idf`` is «Nuevo IDF»: DNP's range label agrees with it on all 1,102 rows (not with «sin bonos»:
    e.g. Pueblo Rico 59.74 sin bonos, 60.14 final, labelled «Vulnerable (>=60 y <70)»)."""
    lower = {"1": 0, "2": 40, "3": 60, "4": 70, "5": 80}
    upper = {"1": 40, "2": 60, "3": 70, "4": 80, "5": 1000}
    with open(RAW / S.IDF_FILE, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 1102
    for r in rows:
        k, v = r["Rango"][0], float(r["Nuevo IDF"])
        assert lower[k] <= v < upper[k], r["divipola"]
    assert any(float(r["Nuevo IDF (sin bonos)"]) < 60 <= float(r["Nuevo IDF"]) for r in rows)


def test_manifest_checksums_are_the_published_ones():
    """The manifest's sha256 of the four files equal the ones the data README §10 publishes, and the
    copied files hash to them (the mirror's README read here, not the manifest reader)."""
    import hashlib
    import re

    from django.conf import settings

    path = Path(settings.GEOSIG_DATA_MIRROR) / "README.md"
    if not path.exists():  # data downloaded from GEOSIG_DATA_BASE_URL: no mirror README to compare with
        pytest.skip("sin espejo de datos")
    readme = path.read_text(encoding="utf-8")
    published = dict((p, h) for h, p in re.findall(r"^([0-9a-f]{64})  (facts/\S+)$", readme, flags=re.M))
    with open(Path(settings.BASE_DIR) / "data" / "raw" / "MANIFEST.csv", newline="", encoding="utf-8") as fh:
        manifest = {r["path"]: r["sha256"] for r in csv.DictReader(fh)}
    for t in S.OFFICIAL_TABLES:
        for rel in (t.csv, t.workbook):
            assert manifest[rel] == published[rel], rel
            assert hashlib.sha256((RAW / rel).read_bytes()).hexdigest() == published[rel], rel
