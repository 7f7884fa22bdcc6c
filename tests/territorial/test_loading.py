"""The territorial loader against the real data and against broken copies of it."""
import json
import shutil

import pytest
import shapely
from django.contrib.gis.db.models.functions import Area, Transform
from pyproj import Geod

from geosig.errors import DataFileError, InvalidGeometry
from territorial.models import Department, IndicatorValue, Municipality, Subregion
from territorial.services import sources as S
from territorial.services.loading import load_territory
from tests.conftest import RAW

pytestmark = pytest.mark.django_db


def snapshot():
    """A fingerprint of everything the loader writes, to prove a failed load changed nothing."""
    return (
        list(Municipality.objects.order_by("divipola").values_list("divipola", "name", "area_km2", "subregion_id")),
        IndicatorValue.objects.count(),
        sorted(IndicatorValue.objects.values_list("value", flat=True))[:50],
        list(Subregion.objects.order_by("code").values_list("code", "area_km2")),
    )


@pytest.fixture
def data_copy(tmp_path):
    for rel in (S.MUNICIPALITIES_FILE, S.FACTS_FILE, S.PROJECTIONS_FILE, S.SUBREGIONS_FILE,
                *(f for t in S.OFFICIAL_TABLES for f in (t.csv, t.workbook))):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(RAW / rel, tmp_path / rel)
    return tmp_path


def test_42_unique_valle_codes(territory):
    codes = list(Municipality.objects.values_list("divipola", flat=True))
    assert len(codes) == 42 == len(set(codes))
    assert all(c.startswith("76") and len(c) == 5 for c in codes)


def test_cali_is_76001_and_contains_its_cabecera(territory):
    cali = Municipality.objects.get(divipola="76001")
    assert cali.name == "Cali"
    assert cali.cabecera_name == "Santiago de Cali"
    assert Municipality.objects.filter(divipola="76001", geom__contains=cali.cabecera).exists()
    # and the cabecera point is in no other municipality
    assert list(Municipality.objects.filter(geom__intersects=cali.cabecera).values_list("divipola", flat=True)) == ["76001"]


def test_every_cabecera_inside_its_municipality(territory):
    for m in Municipality.objects.all():
        assert m.geom.contains(m.cabecera), m.divipola


def test_buenaventura_has_the_largest_area(territory):
    assert Municipality.objects.order_by("-area_km2").first().divipola == "76109"


def test_areas_match_official_and_postgis(territory):
    total = sum(Municipality.objects.values_list("area_km2", flat=True))
    official = sum(Municipality.objects.values_list("official_area_km2", flat=True))
    assert official == pytest.approx(20665.7, abs=0.1)  # DANE MPIO_NAREA sum, per the data README
    assert total == pytest.approx(official, rel=0.01)
    # Independent measurement 1: PostGIS in EPSG:9377 gives the stored value.
    for m in Municipality.objects.annotate(a=Area(Transform("geom", 9377))):
        assert m.a.sq_m / 1e6 == pytest.approx(m.area_km2, abs=0.001)  # stored rounded to 1000 m²
    # Independent measurement 2: geodesic area on the ellipsoid; EPSG:9377's scale factor in the Valle
    # (3.5° west of its central meridian) inflates areas by about 0.2 %, never more than 0.5 %.
    geod = Geod(ellps="GRS80")
    for m in Municipality.objects.all():
        geodesic = abs(geod.geometry_area_perimeter(shapely.from_wkt(m.geom.wkt))[0]) / 1e6
        assert m.area_km2 == pytest.approx(geodesic, rel=0.005), m.divipola


def test_area_flags_are_the_municipalities_off_by_more_than_2_percent(territory, data_copy):
    report = load_territory(data_copy)
    flagged = {f["divipola"] for f in report.area_flags}
    expected = {
        m.divipola for m in Municipality.objects.all() if abs(m.area_km2 / m.official_area_km2 - 1) > 0.02
    }
    assert flagged == expected and len(flagged) < 5


def test_subregions_master_plan_names_with_dane_aliases(territory):
    subs = {s.code: s for s in Subregion.objects.all()}
    assert set(subs) == {"norte", "centro", "sur", "nororiente", "buenaventura"}
    assert subs["norte"].municipalities.count() == 16
    assert subs["centro"].municipalities.count() == 13
    assert subs["sur"].municipalities.count() == 10
    assert sorted(subs["nororiente"].municipalities.values_list("divipola", flat=True)) == ["76122", "76736"]
    assert "ORIENTE" in subs["nororiente"].aliases
    assert list(subs["buenaventura"].municipalities.values_list("divipola", flat=True)) == ["76109"]
    # Derived geometry = union of members; the union's area equals the sum of the members' areas.
    for s in subs.values():
        members = sum(s.municipalities.values_list("area_km2", flat=True))
        assert s.area_km2 == pytest.approx(members, rel=1e-3)
    dept = Department.objects.get(code="76")
    assert dept.area_km2 == pytest.approx(sum(Municipality.objects.values_list("area_km2", flat=True)), rel=1e-3)


def test_population_indicators(territory):
    v = IndicatorValue.objects.get(indicator__code="poblacion_total", municipality__divipola="76001", year=2018)
    assert v.value == 2227642  # DANE CNPV 2018 ajustado (README)
    total_2018 = sum(IndicatorValue.objects.filter(indicator__code="poblacion_total", year=2018).values_list("value", flat=True))
    assert total_2018 == 4475886
    years = set(IndicatorValue.objects.filter(indicator__code="poblacion_total").values_list("year", flat=True))
    assert years == set(range(2012, 2025))
    cab = IndicatorValue.objects.get(indicator__code="poblacion_cabecera", municipality__divipola="76001").value
    resto = IndicatorValue.objects.get(indicator__code="poblacion_resto", municipality__divipola="76001").value
    assert cab + resto == 2227642
    growth = IndicatorValue.objects.get(indicator__code="crecimiento_desde_2012", municipality__divipola="76001", year=2024)
    assert growth.value == pytest.approx(100 * (2283846 / 2165625 - 1))


def test_second_load_changes_nothing(territory, data_copy):
    before = snapshot()
    report = load_territory(data_copy)
    assert not report.changed
    assert report.unchanged == 42 and report.indicator_values_written == 0
    assert snapshot() == before


def test_report_lists_topology_and_missing_census(territory, data_copy):
    report = load_territory(data_copy)
    text = str(report)
    assert report.cabeceras_outside == []
    assert "pop1985_censo" in report.missing_columns
    assert "superposiciones" in text and "huecos" in text


def test_missing_file_names_the_file(territory, data_copy):
    (data_copy / S.FACTS_FILE).unlink()
    before = snapshot()
    with pytest.raises(DataFileError, match="valle_municipios_facts.csv"):
        load_territory(data_copy)
    assert snapshot() == before


def test_corrupt_geojson_is_rejected_and_nothing_changes(territory, data_copy):
    (data_copy / S.MUNICIPALITIES_FILE).write_text('{"type": "FeatureCollection", "features": [ {broken')
    before = snapshot()
    with pytest.raises(DataFileError, match="valle_municipios_mgn2021.geojson"):
        load_territory(data_copy)
    assert snapshot() == before


def _edit_boundaries(path, fn):
    data = json.loads(path.read_text())
    fn(data)
    path.write_text(json.dumps(data))


def test_41_features_is_an_error(territory, data_copy):
    _edit_boundaries(data_copy / S.MUNICIPALITIES_FILE, lambda d: d["features"].pop())
    before = snapshot()
    with pytest.raises(DataFileError, match="42 municipios y hay 41"):
        load_territory(data_copy)
    assert snapshot() == before


def test_missing_field_names_file_and_field(territory, data_copy):
    facts = data_copy / S.FACTS_FILE
    facts.write_text(facts.read_text().replace("cabecera_lat", "lat_cab", 1))
    with pytest.raises(DataFileError, match=r"valle_municipios_facts.csv.*cabecera_lat"):
        load_territory(data_copy)


def test_non_numeric_value_names_field_and_code(territory, data_copy):
    facts = data_copy / S.FACTS_FILE
    lines = facts.read_text().splitlines()
    head = lines[0].split(",")
    cells = lines[1].split(",")
    cells[head.index("pop2018_adj_total")] = "muchos"
    lines[1] = ",".join(cells)
    facts.write_text("\n".join(lines) + "\n")
    with pytest.raises(DataFileError, match=r"pop2018_adj_total.*76001"):
        load_territory(data_copy)


def _bowtie_for(code):
    def edit(d):
        f = next(f for f in d["features"] if f["properties"]["divipola"] == code)
        # Self-intersecting "bowtie" over Vijes' cabecera area: two triangles meeting at a point.
        f["geometry"] = {"type": "Polygon", "coordinates": [[
            [-76.50, 3.66], [-76.40, 3.74], [-76.40, 3.66], [-76.50, 3.74], [-76.50, 3.66]]]}
    return edit


def test_bowtie_is_repaired_and_reported(territory, data_copy):
    _edit_boundaries(data_copy / S.MUNICIPALITIES_FILE, _bowtie_for("76869"))
    report = load_territory(data_copy)
    assert [r.divipola for r in report.repaired] == ["76869"]
    assert "Self-intersection" in report.repaired[0].reason
    vijes = Municipality.objects.get(divipola="76869")
    assert vijes.geom.valid and vijes.geom.num_geom == 2  # MakeValid splits the bowtie into two triangles


def test_bowtie_rejected_when_repair_disabled(territory, data_copy):
    _edit_boundaries(data_copy / S.MUNICIPALITIES_FILE, _bowtie_for("76869"))
    before = snapshot()
    with pytest.raises(InvalidGeometry, match="76869"):
        load_territory(data_copy, repair=False)
    assert snapshot() == before


def test_subregion_edit_survives_reload_and_recomputes_geometry(territory, data_copy, django_capture_on_commit_callbacks):
    vijes = Municipality.objects.get(divipola="76869")
    centro = Subregion.objects.get(code="centro")
    area_before = centro.area_km2
    with django_capture_on_commit_callbacks(execute=True):
        vijes.subregion = centro
        vijes.save()
    centro.refresh_from_db()
    assert centro.area_km2 == pytest.approx(area_before + vijes.area_km2, rel=1e-3)
    load_territory(data_copy)
    assert Municipality.objects.get(divipola="76869").subregion.code == "centro"
    load_territory(data_copy, reset_subregions=True)
    assert Municipality.objects.get(divipola="76869").subregion.code == "sur"


def test_simplified_display_geometries_keep_neighbours_together(territory):
    """Topology-preserving simplification: no overlaps and no new gaps between neighbours."""
    from territorial.services.geometry import topology_findings
    import geopandas as gpd

    munis = list(Municipality.objects.order_by("divipola"))
    simple = gpd.GeoSeries([shapely.from_wkb(bytes(m.geom_simplified.wkb)) for m in munis], crs=4326).to_crs(9377)
    full = gpd.GeoSeries([shapely.from_wkb(bytes(m.geom.wkb)) for m in munis], crs=4326).to_crs(9377)
    overlaps, gaps = topology_findings(simple, [m.divipola for m in munis])
    assert sum(o["area_m2"] for o in overlaps) < 1_000  # rounding to 1e-5° may leave sub-metre slivers
    assert sum(g["area_m2"] for g in gaps) < 1_000
    # The display shapes stay close to the real ones: each area within 1 %, and fewer or equal vertices.
    for m, s, f in zip(munis, simple, full):
        assert s.area == pytest.approx(f.area, rel=0.01), m.divipola
        assert shapely.get_num_coordinates(s) <= shapely.get_num_coordinates(f)
