"""Stored pieces pre-cut along a reporting partition (layers.partitions, PartitionPiece): the overlay of a
detailed layer with each member, summed from what was stored at import, equals geopandas.overlay in EPSG:9377."""
import geopandas as gpd
import pytest
import shapely
from django.contrib.gis.geos import GEOSGeometry

from layers import partitions
from layers.models import FeaturePiece, PartitionBuild, PartitionPiece
from layers.partitions import PartitionArea
from layers.services import overlay
from layers.services.partitions import rebuild_partition_pieces
from tests.layers.conftest import X0, Y0, to_4326
from tests.layers.test_overlay import _wiggly, detailed  # noqa: F401  (fixture: a detailed land cover)

pytestmark = pytest.mark.django_db

MEMBERS = {
    # left of X0, with a detailed edge (cuts bosque and pastos); right of X0 (bosque, pastos, agua with its hole);
    # a member far east wholly holding "urbano": its pieces are tagged, not cut
    "a": _wiggly(shapely.box(X0 - 7000, Y0 - 7000, X0, Y0 + 7000), 10.0, 3.0, 7),
    "b": shapely.box(X0, Y0 - 7000, X0 + 10_000, Y0 + 7000),
    "c": shapely.box(X0 + 25_000, Y0 - 5000, X0 + 40_000, Y0 + 5000),
}


@pytest.fixture
def partition():
    members = dict(MEMBERS)  # the test changes a member below
    partitions.register_partition(
        "prueba", lambda: {k: GEOSGeometry(memoryview(shapely.to_wkb(g)), srid=9377) for k, g in members.items()})
    yield members
    partitions.PARTITIONS.pop("prueba")


def _peer(gdf, members):
    """geopandas.overlay of the members and the layer, both in EPSG:9377: area per (member, class)."""
    left = gpd.GeoDataFrame({"m": list(members)}, geometry=list(members.values()), crs=9377)
    inter = gpd.overlay(left, gdf.to_crs(9377), how="intersection", keep_geom_type=True)
    out: dict = {}
    for (m, c), a in inter.assign(a=inter.area).groupby(["m", "clase"])["a"].sum().items():
        out.setdefault(m, {})[c] = float(a)
    return out


def _ours(keys, monkeypatch):
    # nothing may be cut at request time: the general path would fail the test
    monkeypatch.setattr(overlay, "_stored_pieces_rows", lambda *a: pytest.fail("cut at request time"))
    outs = overlay.overlay_summary_many([PartitionArea("prueba", k) for k in keys], layers=["det"])
    return {k: {c["value"]: c["area_m2"] for c in o["layers"][0]["classes"]} for k, o in zip(keys, outs)}


def _assert_same(got, expected):
    assert set(got) == set(expected)
    for k in expected:
        assert set(got[k]) == set(expected[k]), k
        for c in expected[k]:
            assert got[k][c] == pytest.approx(expected[k][c], rel=1e-9, abs=0), (k, c)


def test_partition_pieces_built_at_import_match_geopandas(partition, detailed, monkeypatch):
    gdf, _ = detailed  # imported after the partition was registered: built at import
    assert PartitionBuild.objects.filter(layer__slug="det", partition="prueba").exists()
    expected = _peer(gdf, partition)
    assert set(expected) == {"a", "b", "c"} and set(expected["b"]) == {"bosque", "pastos", "agua"}
    _assert_same(_ours(["a", "b", "c"], monkeypatch), expected)

    # a piece wholly inside a member is tagged with its own area, not cut; pieces across an edge are cut
    rows = PartitionPiece.objects.filter(layer__slug="det", partition="prueba")
    urbano = FeaturePiece.objects.filter(layer__slug="det", feature__class_value="urbano")
    tagged = rows.filter(member="c")
    assert tagged.count() == urbano.count() > 0 and not tagged.exclude(geom=None).exists()
    areas = {p.pk: shapely.from_wkb(bytes(p.geom.wkb)).area for p in urbano}
    for r in tagged:
        assert r.area == pytest.approx(areas[r.piece_id], rel=1e-12)
    assert rows.filter(member="a").exclude(geom=None).exists() and rows.filter(member="b", geom=None).exists()


def test_rebuild_after_a_member_changes(partition, detailed, monkeypatch):
    gdf, _ = detailed
    partition["b"] = _wiggly(shapely.box(X0 + 1000, Y0 - 4000, X0 + 8000, Y0 + 3000), 10.0, 3.0, 8)
    stale = _ours(["b"], monkeypatch)["b"]
    expected = _peer(gdf, partition)
    assert stale["bosque"] != pytest.approx(expected["b"]["bosque"], rel=1e-3)  # the change matters
    report = rebuild_partition_pieces("prueba", layers=["det"])
    assert report["members"] == 3 and report["pieces"] == PartitionPiece.objects.filter(partition="prueba").count()
    _assert_same(_ours(["a", "b", "c"], monkeypatch), expected)


def test_layer_not_built_falls_back_and_unknown_member(partition, detailed):
    gdf, _ = detailed
    PartitionBuild.objects.filter(partition="prueba").delete()  # as a layer imported before the partition
    got = overlay.overlay_summary_many([PartitionArea("prueba", "b")], layers=["det"])[0]
    expected = _peer(gdf, partition)["b"]
    for c in got["layers"][0]["classes"]:
        assert c["area_m2"] == pytest.approx(expected[c["value"]], rel=1e-9)
    from geosig.errors import InvalidParameter, NotFound

    with pytest.raises(NotFound, match="«prueba» no tiene el miembro «z»"):
        overlay.overlay_summary_many([PartitionArea("prueba", "z")], layers=["det"])
    with pytest.raises(InvalidParameter, match="Partición desconocida"):
        overlay.overlay_summary_many([PartitionArea("nada", "1")], layers=["det"])


def test_municipalities_are_a_partition_and_load_territory_rebuilds_it(territory, detailed, monkeypatch):
    """territorial registers the 42 municipalities as the partition "municipios": an overlay named by
    {"kind": "municipio"} sums stored areas, equal to geopandas.overlay; load_territory rebuilds after a change."""
    from django.conf import settings

    from territorial.models import Municipality
    from territorial.services.loading import load_territory

    gdf, _ = detailed
    munis = gpd.GeoDataFrame(
        [(m.divipola, shapely.from_wkb(bytes(m.geom.wkb))) for m in Municipality.objects.order_by("divipola")],
        columns=["divipola", "geometry"], crs=4326).to_crs(9377)
    touched = sorted(munis.divipola[munis.intersects(shapely.union_all(gdf.to_crs(9377).geometry.values))])
    assert "76001" in touched and PartitionBuild.objects.filter(layer__slug="det", partition="municipios").exists()

    def ours():
        monkeypatch.setattr(overlay, "_stored_pieces_rows", lambda *a: pytest.fail("cut at request time"))
        outs = overlay.overlay_summary_many([{"kind": "municipio", "code": c} for c in touched], layers=["det"])
        assert all("Municipio" in o["area"]["label"] for o in outs)
        return {c: {k["value"]: k["area_m2"] for k in o["layers"][0]["classes"]} for c, o in zip(touched, outs)}

    def peer(m):
        return _peer(gdf, dict(zip(m.divipola, m.geometry)))

    _assert_same(ours(), {c: v for c, v in peer(munis).items() if c in touched})

    # Cali shrinks (as a stale boundary would), the partition is rebuilt; load_territory restores the boundary
    # from the source and must rebuild the pieces again
    cali = Municipality.objects.get(divipola="76001")
    from django.contrib.gis.geos import MultiPolygon, Polygon

    lon = to_4326([shapely.Point(X0, Y0)]).iloc[0].x
    west = cali.geom.intersection(Polygon.from_bbox((-80, 0, lon, 10)))  # Cali west of the land cover's centre
    Municipality.objects.filter(pk=cali.pk).update(geom=west if west.geom_type == "MultiPolygon" else
                                                   MultiPolygon(west, srid=4326))
    rebuild_partition_pieces("municipios", layers=["det"])
    shrunk = ours()["76001"]
    assert sum(shrunk.values()) < 0.99 * sum(peer(munis)["76001"].values())
    load_territory(settings.GEOSIG_RAW_DIR)
    _assert_same(ours(), {c: v for c, v in peer(munis).items() if c in touched})


def test_rebuild_command(partition, detailed):
    from io import StringIO

    from django.core.management import call_command

    PartitionPiece.objects.filter(partition="prueba").delete()
    out = StringIO()
    call_command("rebuild_partitions", "prueba", "--layer", "det", stdout=out)
    n = PartitionPiece.objects.filter(partition="prueba", layer__slug="det").count()
    assert n > 0 and out.getvalue().strip() == f"Partición «prueba»: 3 miembros, 1 capas, {n} piezas guardadas."
