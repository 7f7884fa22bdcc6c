"""Conflicts stored set-based in PostGIS (ConflictRow): the stored zone × determinant areas and geometries
equal an independent shapely overlay of the same stored zones and pieces, and a plan saved since the last
department report is the only one recomputed (the others' entries and rows are not touched)."""
import numpy as np
import pytest
import shapely
from django.contrib.gis.geos import GEOSGeometry
from shapely.geometry import Polygon, box, mapping

from territorial.pot.services import conflicts as C
from territorial.pot.services.plans import create_plan, system_replace_zones

from .test_pot_fixtures import TO_9377, cabecera_m, cali_plan, fc, pot_users, square_feature, to_4326  # noqa: F401

pytestmark = pytest.mark.django_db


def _feature(geom_m, soil):
    return {"type": "Feature", "geometry": mapping(to_4326(geom_m)), "properties": {"soil_class": soil}}


def _determinant(code, pieces):
    from territorial.pot.models import Determinant, DeterminantPiece

    det = Determinant.objects.create(code=code, name=code, kind="polygon", piece_count=len(pieces))
    for g in pieces:
        DeterminantPiece.objects.create(determinant=det, geom_m=GEOSGeometry(g.wkt, srid=9377))
    return det


def _to_metres(geom_4326):
    return shapely.transform(geom_4326, lambda xy: np.column_stack(TO_9377.transform(xy[:, 0], xy[:, 1])))


def _stored_zones(plan):
    from territorial.pot.models import Zone

    return {z.pk: shapely.from_wkb(bytes(z.geom_m.wkb)) for z in Zone.objects.filter(plan=plan)}


def _expected(zones, pieces_by_det):
    """zone × determinant → (area, geometry) by shapely alone, from the stored zones and pieces."""
    out = {}
    for zid, z in zones.items():
        for code, pieces in pieces_by_det.items():
            parts = [shapely.intersection(z, p) for p in pieces]
            area = sum(g.area for g in parts)
            if area >= 1.0:
                out[(zid, code)] = (area, shapely.union_all(parts))
    return out


@pytest.mark.parametrize("parallel_from", [1, 1000])  # the many-plans (parallel, CTE) and the few-plans query
def test_stored_areas_and_geometries_equal_a_shapely_overlay(pot_users, cali_plan, monkeypatch, parallel_from):
    from territorial.pot.models import ConflictRow

    monkeypatch.setattr(C, "PARALLEL_FROM_PLANS", parallel_from)

    x, y = cabecera_m(pot_users["cali"])
    zone_a = Polygon([(x, y), (x + 1000, y + 100), (x + 1200, y + 900), (x + 300, y + 1300), (x - 200, y + 600)])
    zone_b = box(x + 1500, y, x + 2500, y + 1000)
    system_replace_zones(cali_plan, fc(_feature(zone_a, "urbano"), _feature(zone_b, "rural")), "importar")
    pieces = {
        # a piece inside zone A (taken whole), one covering zone B (the zone taken whole), one crossing A's edge
        "prueba_bosque": [Polygon([(x + 300, y + 300), (x + 600, y + 300), (x + 450, y + 600)]),
                          box(x + 1400, y - 100, x + 2600, y + 1100), box(x + 900, y + 800, x + 1300, y + 1500)],
        # a piece with a hole, across A
        "prueba_paramo": [box(x - 500, y - 500, x + 500, y + 500).difference(box(x + 100, y + 100, x + 200, y + 200))],
    }
    codes = {_determinant(code, geoms).pk: code for code, geoms in pieces.items()}
    expected = _expected(_stored_zones(cali_plan), pieces)
    assert len(expected) == 3  # A × both determinants, B × bosque, and nothing else

    report = C.analyse_conflicts(pot_users["analyst"], plan_id=cali_plan.pk, modes=["determinants"],
                                 determinants=list(pieces))
    got = {(f["zone_id"], f["determinant"]): f for f in report.findings + report.compatible}
    assert set(got) == set(expected)
    for k, (area, geom) in expected.items():
        assert got[k]["area_m2"] == pytest.approx(area, rel=1e-9)
    # the stored geometry (EPSG:9377) is the overlay's geometry: no area outside either
    for row in ConflictRow.objects.filter(entry__plan=cali_plan, entry__mode="determinants"):
        area, geom = expected[(row.attrs["zone_id"], codes[row.attrs["determinant_id"]])]
        stored = shapely.from_wkb(bytes(row.geom.wkb))
        assert stored.area == pytest.approx(area, rel=1e-9) and row.area_m2 == pytest.approx(area, rel=1e-9)
        assert shapely.symmetric_difference(stored, geom).area <= 1e-9 * area
    # GeoJSON is made only when a response asks for it, and is the same geometry (7 decimals of a degree)
    assert all(isinstance(f["geometry"], C.StoredGeometry) for f in report.findings)
    for f in report.as_dict()["findings"]:
        g = _to_metres(shapely.geometry.shape(f["geometry"]))
        assert g.area == pytest.approx(expected[(f["zone_id"], f["determinant"])][0], rel=1e-4)


def test_one_changed_plan_is_the_only_one_recomputed(pot_users, cali_plan, monkeypatch):
    from territorial.pot.models import ConflictCache, ConflictRow

    jam_plan, (cx, cy) = _cali_and_jamundi(pot_users, cali_plan)

    computed = []
    real = C.determinant_statements
    monkeypatch.setattr(C, "determinant_statements", lambda ids, p, dets: computed.append(list(ids)) or real(ids, p, dets))

    def department():
        report = C.analyse_conflicts(pot_users["analyst"], modes=["determinants"], determinants=["prueba_amenaza"])
        assert {p["id"] for p in report.plans} == {cali_plan.pk, jam_plan.pk}
        return {f["zone_id"]: f["area_m2"] for f in report.findings}

    first = department()
    assert [sorted(ids) for ids in computed] == [sorted([cali_plan.pk, jam_plan.pk])]  # cold: both, in one go
    assert sorted(first.values()) == pytest.approx([300 * 300, 500 * 500], abs=2.0)  # squares went through EPSG:4326
    entries = lambda plan: ConflictCache.objects.filter(plan=plan, mode="determinants")  # noqa: E731
    jam_entry, cali_entry = entries(jam_plan).get(), entries(cali_plan).get()
    jam_rows = set(ConflictRow.objects.filter(entry=jam_entry).values_list("pk", flat=True))
    rows_before = set(ConflictRow.objects.values_list("pk", flat=True))

    computed.clear()
    system_replace_zones(cali_plan, fc(square_feature(cx, cy, cx + 800, cy + 1000, "urbano")), "importar")
    second = department()
    assert computed == [[cali_plan.pk]]  # nothing department-wide: only the changed plan's statements ran
    assert entries(jam_plan).get().pk == jam_entry.pk  # untouched: same entry, same rows
    assert set(ConflictRow.objects.filter(entry=jam_entry).values_list("pk", flat=True)) == jam_rows
    new_entry = entries(cali_plan).get()
    assert new_entry.pk != cali_entry.pk
    written = ConflictRow.objects.exclude(pk__in=rows_before)
    assert set(written.values_list("entry_id", flat=True)) == {new_entry.pk}  # every row written is the changed plan's
    assert not ConflictRow.objects.filter(entry_id=cali_entry.pk).exists()  # and its old rows are gone
    assert sorted(second.values()) == pytest.approx([300 * 300, 300 * 500], abs=2.0)


@pytest.mark.django_db(transaction=True)
def test_a_writer_of_one_plan_blocks_that_plan_only(pot_users, cali_plan):
    """Computing happens inside the write transaction, under a lock per (mode, plan): while another session
    holds Cali's, Jamundí's report is computed at once and Cali's waits (here: gives up after 1 s)."""
    import threading

    from django.db import OperationalError, connection, transaction

    jam_plan, _ = _cali_and_jamundi(pot_users, cali_plan)
    held, release = threading.Event(), threading.Event()

    def other_writer():  # its own connection: another request computing Cali's determinants
        try:
            with transaction.atomic(), connection.cursor() as cur:
                cur.execute("SELECT pg_advisory_xact_lock(hashtext(%s), %s)",
                            ["geosig_pot_conflict_cache:determinants", cali_plan.pk])
                held.set()
                release.wait(30)
        finally:
            connection.close()

    thread = threading.Thread(target=other_writer)
    thread.start()
    try:
        assert held.wait(10)
        with connection.cursor() as cur:
            cur.execute("SET lock_timeout = '1s'")
        run = lambda plan: C.analyse_conflicts(pot_users["analyst"], plan_id=plan.pk, modes=["determinants"],  # noqa: E731
                                               determinants=["prueba_amenaza"])
        assert [f["area_m2"] for f in run(jam_plan).findings] == pytest.approx([300 * 300], abs=2.0)
        with pytest.raises(OperationalError, match="lock timeout"):
            run(cali_plan)
    finally:
        release.set()
        thread.join()
        with connection.cursor() as cur:
            cur.execute("SET lock_timeout = 0")


def _cali_and_jamundi(pot_users, cali_plan):
    """Cali (1 km urban square) and Jamundí (1 km rural square) at their cabeceras, and a threat determinant that
    covers 500 × 500 m of Cali's and 300 × 300 m of Jamundí's: (Jamundí's plan, Cali's corner in EPSG:9377)."""
    cx, cy = cabecera_m(pot_users["cali"])
    jx, jy = cabecera_m(pot_users["jamundi"])
    jam_plan = create_plan(pot_users["other_planner"], pot_users["jamundi"], "Jamundí prueba")
    system_replace_zones(cali_plan, fc(square_feature(cx, cy, cx + 1000, cy + 1000, "urbano")), "importar")
    system_replace_zones(jam_plan, fc(square_feature(jx, jy, jx + 1000, jy + 1000, "rural")), "importar")
    _determinant("prueba_amenaza", [box(cx + 500, cy + 500, cx + 1500, cy + 1500), box(jx - 200, jy - 200, jx + 300, jy + 300)])
    return jam_plan, (cx, cy)
