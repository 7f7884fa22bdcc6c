"""Conflict areas against hand-computed fixtures: squares in EPSG:9377 with known overlaps, a 30 m
ronda, a 2 m wide sliver, and two plans facing each other across the Cali–Jamundí boundary."""
import pytest
import shapely
from django.contrib.gis.geos import GEOSGeometry
from shapely.geometry import LineString, box

from geosig.errors import InvalidParameter, NotFound
from territorial.pot.services.conflicts import analyse_conflicts
from territorial.pot.services.plans import create_plan, system_replace_zones
from territorial.pot.services.validation import to_metres

from .test_pot_fixtures import cabecera_m, cali_plan, fc, pot_users, square_feature  # noqa: F401

pytestmark = pytest.mark.django_db



def save_zones(user, plan, collection, version):
    """The analysis reads plans as stored, including zones today's save refuses or fits (overlaps, parts
    outside the municipality: plans loaded before issue #9, or by the loaders). Stored the loaders' way."""
    plan.refresh_from_db()
    assert plan.version == version and (user.is_superuser or user.pot_assignments.filter(
        municipality=plan.municipality).exists())
    return system_replace_zones(plan, collection, "importar")

def _kinds(report, kind):
    return [f for f in report.findings if f["kind"] == kind]


def test_overlap_gap_and_sliver_areas(pot_users, cali_plan):
    x, y = cabecera_m(pot_users["cali"])
    save_zones(pot_users["planner"], cali_plan, fc(
        square_feature(x, y, x + 1000, y + 1000, "urbano", "A"),
        square_feature(x + 600, y, x + 1600, y + 1000, "expansion_urbana", "B"),  # overlaps A by 400 × 1000
        square_feature(x, y - 700, x + 600, y - 698, "rural", "astilla"),  # 600 × 2 m, mean width < 5 m
    ), cali_plan.version)
    report = analyse_conflicts(pot_users["analyst"], plan_id=cali_plan.pk, modes=["internal"])
    overlaps = _kinds(report, "superposicion")
    assert len(overlaps) == 1
    assert overlaps[0]["area_m2"] == pytest.approx(400_000, abs=1.0)
    assert overlaps[0]["pct_zone"] == pytest.approx(40.0, abs=0.01)
    slivers = [f for f in _kinds(report, "astilla") if f.get("zone_id")]
    assert len(slivers) == 1 and slivers[0]["area_m2"] == pytest.approx(1_200, abs=0.5)
    # gaps: the municipality (measured independently with shapely/pyproj) minus the three zones' union
    muni_m = to_metres(shapely.from_wkb(bytes(pot_users["cali"].geom.wkb)))
    covered = 1_600_000 + 1_200
    gaps = _kinds(report, "hueco")
    assert sum(g["area_m2"] for g in gaps) == pytest.approx(muni_m.area - covered, rel=1e-6)


@pytest.mark.parametrize("parallel_from", [1, 1000])  # the many-plans (parallel) and the few-plans queries
def test_ronda_30m_and_polygon_determinant(pot_users, cali_plan, monkeypatch, parallel_from):
    from territorial.pot.models import Determinant, DeterminantPiece, DeterminantRule
    from territorial.pot.services import conflicts

    monkeypatch.setattr(conflicts, "PARALLEL_FROM_PLANS", parallel_from)

    x, y = cabecera_m(pot_users["cali"])
    save_zones(pot_users["planner"], cali_plan, fc(square_feature(x, y, x + 1000, y + 1000, "urbano")),
               cali_plan.version)
    river = Determinant.objects.create(code="prueba_rio", name="Río de prueba", kind="ronda", piece_count=2)
    # the river crosses the square through its middle, drawn as two pieces (buffers must not double count)
    for seg in ([(x + 500, y - 300), (x + 500, y + 400)], [(x + 500, y + 400), (x + 500, y + 1300)]):
        DeterminantPiece.objects.create(determinant=river, geom_m=GEOSGeometry(LineString(seg).wkt, srid=9377))
    DeterminantRule.objects.create(determinant=river, soil_class="urbano", verdict="incompatible")
    hazard = Determinant.objects.create(code="prueba_amenaza", name="Amenaza de prueba", kind="polygon", piece_count=1)
    DeterminantPiece.objects.create(determinant=hazard, geom_m=GEOSGeometry(box(x + 800, y + 800, x + 1500, y + 1500).wkt, srid=9377))
    DeterminantRule.objects.create(determinant=hazard, soil_class="urbano", verdict="condicionado")

    report = analyse_conflicts(pot_users["analyst"], plan_id=cali_plan.pk, modes=["determinants"],
                               determinants=["prueba_rio", "prueba_amenaza"])
    by_det = {f["determinant"]: f for f in report.findings}
    assert by_det["prueba_rio"]["area_m2"] == pytest.approx(2 * 30 * 1000, abs=1.0)  # 60 m strip × 1000 m
    assert by_det["prueba_rio"]["pct_zone"] == pytest.approx(6.0, abs=0.001)
    assert by_det["prueba_rio"]["verdict"] == "incompatible"
    assert by_det["prueba_amenaza"]["area_m2"] == pytest.approx(200 * 200, abs=0.5)
    assert by_det["prueba_amenaza"]["verdict"] == "condicionado"
    wider = analyse_conflicts(pot_users["analyst"], plan_id=cali_plan.pk, modes=["determinants"],
                              determinants=["prueba_rio"], ronda_m=50)
    assert wider.findings[0]["area_m2"] == pytest.approx(100_000, abs=1.0)
    # a compatible class is counted, not reported as a conflict
    DeterminantRule.objects.filter(determinant=river).update(verdict="compatible")
    again = analyse_conflicts(pot_users["analyst"], plan_id=cali_plan.pk, modes=["determinants"],
                              determinants=["prueba_rio"])
    assert again.findings == [] and len(again.compatible) == 1


def _boundary_point(a, b):
    """A point of the shared Cali–Jamundí boundary, in EPSG:9377, and the side Cali is on (±1 in x)."""
    ga = to_metres(shapely.from_wkb(bytes(a.geom.wkb)))
    gb = to_metres(shapely.from_wkb(bytes(b.geom.wkb)))
    shared = ga.boundary.intersection(gb.boundary)
    line = max(shapely.get_parts(shapely.line_merge(shared)), key=lambda g: g.length)
    p = line.interpolate(0.5, normalized=True)
    side = -1 if ga.contains(shapely.Point(p.x - 300, p.y)) else 1
    return p.x, p.y, side


def test_cross_border_strip_within_buffer(pot_users, cali_plan):
    from territorial.pot.classes import Status

    jam_plan = create_plan(pot_users["other_planner"], pot_users["jamundi"], "Jamundí prueba")
    x, y, side = _boundary_point(pot_users["cali"], pot_users["jamundi"])
    g = 10.0  # gap between the two squares; buffer 30 m → each square has a (30 − 10) × 1000 m strip
    cali_sq = sorted([x + side * 5, x + side * 1005])
    jam_sq = sorted([x - side * 5, x - side * 1005])
    save_zones(pot_users["planner"], cali_plan, fc(square_feature(cali_sq[0], y, cali_sq[1], y + 1000, "expansion_urbana")),
               cali_plan.version)
    save_zones(pot_users["other_planner"], jam_plan, fc(square_feature(jam_sq[0], y, jam_sq[1], y + 1000, "proteccion")),
               jam_plan.version)
    jam_plan.refresh_from_db()
    assert jam_plan.status == Status.BORRADOR
    report = analyse_conflicts(pot_users["analyst"], plan_id=cali_plan.pk, modes=["cross_border"], buffer_m=30)
    facing = _kinds(report, "vecino_incompatible")
    assert len(facing) == 1
    assert facing[0]["area_m2"] == pytest.approx(2 * 1000 * (30 - g), abs=1.0)
    assert facing[0]["distance_m"] == pytest.approx(g, abs=0.01)
    assert facing[0]["verdict"] == "incompatible"
    # beyond the buffer: nothing faces
    far = analyse_conflicts(pot_users["analyst"], plan_id=cali_plan.pk, modes=["cross_border"], buffer_m=8)
    assert _kinds(far, "vecino_incompatible") == []


def test_zone_crossing_the_boundary_is_measured(pot_users, cali_plan):
    x, y, side = _boundary_point(pot_users["cali"], pot_users["jamundi"])
    # 1000 × 1000 square centred on the boundary point: about half lies in Jamundí (boundary not straight)
    save_zones(pot_users["planner"], cali_plan, fc(square_feature(x - 500, y - 500, x + 500, y + 500, "rural")),
               cali_plan.version)
    report = analyse_conflicts(pot_users["analyst"], plan_id=cali_plan.pk, modes=["cross_border"])
    crossing = [f for f in _kinds(report, "cruza_limite") if f.get("zone_id")]
    sq = to_metres(shapely.from_wkb(bytes(cali_plan.zones.first().geom.wkb)))
    jam = to_metres(shapely.from_wkb(bytes(pot_users["jamundi"].geom.wkb)))
    expected = sq.intersection(jam).area  # independent: shapely + pyproj
    assert sum(f["area_m2"] for f in crossing if "76364" in f["message"]) == pytest.approx(expected, rel=1e-4)


def test_bad_modes_and_scopes_are_refused(pot_users, cali_plan):
    with pytest.raises(InvalidParameter, match="internal, cross_border, determinants"):
        analyse_conflicts(pot_users["analyst"], modes=["todo"])
    with pytest.raises(InvalidParameter, match="número"):
        analyse_conflicts(pot_users["analyst"], plan_id=cali_plan.pk, ronda_m="treinta")
    with pytest.raises(NotFound):
        analyse_conflicts(pot_users["analyst"], municipality="99999")
    with pytest.raises(NotFound):  # a draft is not visible to anonymous users
        analyse_conflicts(None, plan_id=cali_plan.pk)


def test_conflicts_api_json_and_csv(client, pot_users, cali_plan):
    x, y = cabecera_m(pot_users["cali"])
    save_zones(pot_users["planner"], cali_plan, fc(
        square_feature(x, y, x + 1000, y + 1000, "urbano"), square_feature(x + 500, y, x + 1500, y + 1000, "rural")),
        cali_plan.version)
    client.force_login(pot_users["analyst"])
    r = client.get(f"/api/v1/pot/conflicts/?plan={cali_plan.pk}&modes=internal")
    assert r.status_code == 200
    body = r.json()
    assert body["is_demo"] is False
    ov = [f for f in body["findings"] if f["kind"] == "superposicion"]
    assert ov[0]["area_m2"] == pytest.approx(500_000, abs=1.0)
    r = client.get(f"/api/v1/pot/conflicts/?plan={cali_plan.pk}&modes=internal&format=csv")
    assert r.status_code == 200 and r["Content-Type"].startswith("text/csv")
    assert "superposicion" in r.content.decode()
    r = client.get("/api/v1/pot/conflicts/?modes=nada")
    assert r.status_code == 400 and r.json()["error"] == "invalid_parameter"


def test_cached_results_follow_every_save(pot_users, cali_plan):
    """Per-plan results are cached by plan version: a save (here, or in the neighbour's plan) is seen."""
    from territorial.pot.models import ConflictCache

    x, y = cabecera_m(pot_users["cali"])
    save_zones(pot_users["planner"], cali_plan, fc(square_feature(x, y, x + 1000, y + 1000, "urbano"),
                                                   square_feature(x + 900, y, x + 1900, y + 1000, "rural")), 1)
    first = analyse_conflicts(pot_users["analyst"], plan_id=cali_plan.pk, modes=["internal"])
    assert _kinds(first, "superposicion")[0]["area_m2"] == pytest.approx(100_000, abs=1)
    assert ConflictCache.objects.filter(plan=cali_plan, mode="internal", plan_version=2).exists()
    save_zones(pot_users["planner"], cali_plan, fc(square_feature(x, y, x + 1000, y + 1000, "urbano"),
                                                   square_feature(x + 700, y, x + 1700, y + 1000, "rural")), 2)
    cali_plan.refresh_from_db()
    second = analyse_conflicts(pot_users["analyst"], plan_id=cali_plan.pk, modes=["internal"])
    assert _kinds(second, "superposicion")[0]["area_m2"] == pytest.approx(300_000, abs=1)

    jam_plan = create_plan(pot_users["other_planner"], pot_users["jamundi"], "Jamundí")
    x, y, side = _boundary_point(pot_users["cali"], pot_users["jamundi"])
    cali_x = sorted([x + side * 5, x + side * 1005])
    save_zones(pot_users["planner"], cali_plan, fc(square_feature(cali_x[0], y, cali_x[1], y + 1000, "urbano")), 3)
    cali_plan.refresh_from_db()
    assert _kinds(analyse_conflicts(pot_users["analyst"], plan_id=cali_plan.pk, modes=["cross_border"], buffer_m=30),
                  "vecino_incompatible") == []
    jam = sorted([x - side * 5, x - side * 1005])
    save_zones(pot_users["other_planner"], jam_plan, fc(square_feature(jam[0], y, jam[1], y + 1000, "proteccion")), 1)
    facing = _kinds(analyse_conflicts(pot_users["analyst"], plan_id=cali_plan.pk, modes=["cross_border"], buffer_m=30),
                    "vecino_incompatible")
    assert len(facing) == 1 and facing[0]["area_m2"] == pytest.approx(40_000, abs=1)


# ------------------------------------------------------------------ review fixes: cache keys and parameter ranges
def test_cache_keeps_one_entry_per_key(pot_users, cali_plan):
    """A CSV download (no geometry) reads the JSON report's cache entry (no second entry, no recomputation);
    entries of an older plan version are dropped when the plan is analysed again."""
    from territorial.pot.models import ConflictCache

    x, y = cabecera_m(pot_users["cali"])
    save_zones(pot_users["planner"], cali_plan, fc(square_feature(x, y, x + 1000, y + 1000, "urbano"),
                                                   square_feature(x + 900, y, x + 1900, y + 1000, "rural")), 1)
    rows = lambda: ConflictCache.objects.filter(plan=cali_plan, mode="internal")  # noqa: E731
    analyse_conflicts(pot_users["analyst"], plan_id=cali_plan.pk, modes=["internal"])
    json_entry = rows().get()
    csv = analyse_conflicts(pot_users["analyst"], plan_id=cali_plan.pk, modes=["internal"], with_geometry=False)
    assert _kinds(csv, "superposicion")[0]["area_m2"] == pytest.approx(100_000, abs=1)
    assert rows().get().pk == json_entry.pk
    assert {len(k) for k in rows().values_list("key", flat=True)} == {40}  # sha1 hex digests
    save_zones(pot_users["planner"], cali_plan, fc(square_feature(x, y, x + 1000, y + 1000, "urbano")), 2)
    analyse_conflicts(pot_users["analyst"], plan_id=cali_plan.pk, modes=["internal"])
    assert list(rows().values_list("plan_version", flat=True)) == [3]  # the stale entry went


def test_cache_key_is_not_truncated():
    from territorial.pot.services.conflicts import DEFAULTS, _key

    long_a, long_b = "x" * 300 + "a", "x" * 300 + "b"  # e.g. many neighbour (plan, version) pairs
    assert _key(DEFAULTS, ["buffer_m"], long_a) != _key(DEFAULTS, ["buffer_m"], long_b)


@pytest.mark.parametrize("param, value, text", [
    ("buffer_m", 5_000, "«buffer_m» debe ser ≤ 2.000; recibido 5.000"), ("buffer_m", -1, "«buffer_m» debe ser ≥ 0"),
    ("ronda_m", 500, "«ronda_m» debe ser ≤ 100"), ("sliver_m2", [1], "«sliver_m2» debe ser un número"),
    ("ronda_m", "nan", "número finito"), ("sliver_m2", "inf", "número finito"),
])
def test_distance_parameters_out_of_range(pot_users, cali_plan, param, value, text):
    with pytest.raises(InvalidParameter, match=text):
        analyse_conflicts(pot_users["analyst"], plan_id=cali_plan.pk, modes=["internal"], **{param: value})
