"""Overlay summary against hand-computable answers (shapes built exactly in EPSG:9377)."""
import geopandas as gpd
import pytest
import shapely
from django.contrib.gis.geos import GEOSGeometry

from geosig.errors import InvalidGeometry, InvalidParameter, NotFound, OutsideValle
from layers import hooks
from layers.services.importing import import_layer
from layers.services.overlay import overlay_summary
from tests.layers.conftest import X0, Y0, square_9377, to_4326, write_vector

pytestmark = pytest.mark.django_db


def _geojson_9377(geom):
    return shapely.geometry.mapping(to_4326([geom]).iloc[0])


@pytest.fixture
def layers(tmp_path):
    # polygons: A = 10 km square, half inside the area below; B = 2 km square wholly inside
    polys = gpd.GeoDataFrame({"clase": ["A", "B"]},
                             geometry=to_4326([square_9377(0, 0, 10_000), square_9377(-4000, 1000, 2000)]), crs=4326)
    import_layer(write_vector(tmp_path / "cob.geojson", polys, "GeoJSON"))
    # a line crossing the area: 20 km long, 10 km inside
    line = shapely.LineString([(X0 - 10_000, Y0 + 5000), (X0 + 10_000, Y0 + 5000)])
    lines = gpd.GeoDataFrame({"tipo": ["río", "vía"]}, geometry=to_4326(
        [line, shapely.LineString([(X0 + 20_000, Y0), (X0 + 30_000, Y0)])]), crs=4326)
    import_layer(write_vector(tmp_path / "red.geojson", lines, "GeoJSON"))
    pts = gpd.GeoDataFrame({"cat": ["x", "x", "y"]}, geometry=to_4326(
        [shapely.Point(X0 - 100, Y0 + 100), shapely.Point(X0 + 6000, Y0 + 100), shapely.Point(X0 - 1000, Y0 + 9000)]),
        crs=4326)
    import_layer(write_vector(tmp_path / "pts.geojson", pts, "GeoJSON"))


AREA = shapely.box(X0 - 5000, Y0, X0 + 5000, Y0 + 10_000)  # 100 km², left half of A inside


def test_areas_and_percentages_against_hand_computation(layers):
    out = overlay_summary(_geojson_9377(AREA))
    assert out["area"]["area_m2"] == pytest.approx(1e8, rel=1e-7)
    by = {l["slug"]: l for l in out["layers"]}
    cob = {c["value"]: c for c in by["cob"]["classes"]}
    assert cob["A"]["area_m2"] == pytest.approx(5e7, rel=1e-6)  # cut at the edge (intersection)
    assert cob["A"]["pct_of_area"] == pytest.approx(50.0, rel=1e-6)
    assert cob["B"]["area_m2"] == pytest.approx(4e6, rel=1e-6)  # wholly inside (stored area)
    assert cob["B"]["pct_of_area"] == pytest.approx(4.0, rel=1e-6)
    assert by["cob"]["pct_of_area"] == pytest.approx(54.0, rel=1e-6)
    red = {c["value"]: c for c in by["red"]["classes"]}
    assert by["red"]["measure"] == "length_m" and list(red) == ["río"]
    assert red["río"]["length_m"] == pytest.approx(10_000, rel=1e-6)
    pts = {c["value"]: c["count"] for c in by["pts"]["classes"]}
    assert pts == {"x": 1, "y": 1}  # the "x" point at X0+6000 m lies east of the area


def test_overlay_only_selected_layers_and_unknown_layer(layers):
    out = overlay_summary(_geojson_9377(AREA), layers=["cob"])
    assert [l["slug"] for l in out["layers"]] == ["cob"]
    with pytest.raises(NotFound, match="nada"):
        overlay_summary(_geojson_9377(AREA), layers=["cob", "nada"])


def test_overlay_by_code_through_the_hook(layers):
    hooks.register_area_resolver("prueba", "Prueba", lambda code: GEOSGeometry(
        to_4326([AREA]).iloc[0].wkt, srid=4326) if code == "1" else None, lambda: [("1", "Área uno")])
    try:
        out = overlay_summary({"kind": "prueba", "code": "1"})
        assert out["area"]["label"] == "Prueba: Área uno"
        assert out["area"]["area_m2"] == pytest.approx(1e8, rel=1e-7)
        with pytest.raises(NotFound, match="«prueba» con código «2»"):
            overlay_summary({"kind": "prueba", "code": "2"})
        with pytest.raises(InvalidParameter, match="Valores válidos: .*prueba"):
            overlay_summary({"kind": "barrio", "code": "1"})
    finally:
        hooks.AREA_RESOLVERS.pop("prueba")


def test_overlay_of_a_municipality_uses_its_registered_geometry(territory, layers):
    from territorial.models import Municipality

    cali = Municipality.objects.get(divipola="76001")
    out = overlay_summary({"kind": "municipio", "code": "76001"}, layers=["cob"])
    assert out["area"]["area_km2"] == pytest.approx(cali.area_km2, rel=1e-6)
    assert "Cali" in out["area"]["label"]


def test_bad_overlay_polygons():
    with pytest.raises(InvalidGeometry, match="Self-intersection"):
        overlay_summary({"type": "Polygon", "coordinates": [
            [[-76.5, 3.4], [-76.4, 3.5], [-76.4, 3.4], [-76.5, 3.5], [-76.5, 3.4]]]})
    with pytest.raises(InvalidGeometry, match="Se esperaba un polígono"):
        overlay_summary({"type": "Point", "coordinates": [-76.5, 3.4]})
    with pytest.raises(OutsideValle):
        overlay_summary({"type": "Polygon", "coordinates": [[[-74, 4], [-73.9, 4], [-73.9, 4.1], [-74, 4]]]})
    with pytest.raises(InvalidGeometry, match="GeoJSON"):
        overlay_summary('{"type": "Polygon", "coordinates": "nope"}')
    with pytest.raises(InvalidParameter, match="Falta la geometría"):
        overlay_summary(None)


def test_overlay_of_a_subregion(territory, layers):
    from territorial.models import Subregion

    sub = Subregion.objects.exclude(geom=None).first()
    out = overlay_summary({"kind": "subregion", "code": sub.code}, layers=["cob"])
    assert out["area"]["area_km2"] == pytest.approx(sub.area_km2, rel=1e-6)
    assert sub.name in out["area"]["label"]


def test_detailed_area_is_cut_into_pieces_with_the_same_areas(layers, monkeypatch):
    """An area of > SUBDIVIDE_ABOVE vertices (a wiggly edge, as a real protected area) is summed over its
    ST_Subdivide pieces; a polygon layer's own pieces (stored at import) are used when present. Every path gives
    the class areas shapely computes on the same geometries (pyproj to EPSG:9377), to 1e-9."""
    import numpy as np

    from layers.models import Feature, FeaturePiece
    from layers.services import overlay

    rng = np.random.default_rng(7)
    ring = shapely.segmentize(AREA.buffer(1500, quad_segs=64).exterior, 5.0)
    xy = shapely.get_coordinates(ring)[:-1]
    xy = xy + rng.uniform(-1.5, 1.5, xy.shape)  # below ⅓ of the 5 m step: still a simple ring
    wiggly = shapely.Polygon(np.vstack([xy, xy[:1]]))
    assert wiggly.is_valid and shapely.get_num_coordinates(wiggly) > overlay.SUBDIVIDE_ABOVE
    area_4326 = to_4326([wiggly]).iloc[0]
    a9 = gpd.GeoSeries([area_4326], crs=4326).to_crs(9377).iloc[0]
    feats = gpd.GeoSeries(to_4326([square_9377(0, 0, 10_000), square_9377(-4000, 1000, 2000)]), crs=4326).to_crs(9377)
    expected = {"A": shapely.intersection(feats.iloc[0], a9).area, "B": shapely.intersection(feats.iloc[1], a9).area}

    # the import stored the pieces of the polygons, and they add up to each feature
    for f in Feature.objects.filter(layer__slug="cob"):
        pieces = [shapely.from_wkb(bytes(p.wkb)) for p in FeaturePiece.objects.filter(feature=f).values_list("geom", flat=True)]
        assert pieces and sum(p.area for p in pieces) == pytest.approx(f.area_m2, rel=1e-9)

    def classes():
        out = overlay_summary(shapely.geometry.mapping(area_4326), layers=["cob"])["layers"][0]["classes"]
        return {c["value"]: c["area_m2"] for c in out}

    results = [classes()]  # stored pieces × area pieces
    monkeypatch.setattr(overlay, "SUBDIVIDE_ABOVE", 10**9)
    results.append(classes())  # stored pieces × whole area
    monkeypatch.setattr(overlay, "SUBDIVIDE_ABOVE", 5000)
    FeaturePiece.objects.filter(layer__slug="cob").delete()
    results.append(classes())  # features cut into pieces on the fly × area pieces
    monkeypatch.setattr(overlay, "SUBDIVIDE_ABOVE", 10**9)
    results.append(classes())  # the whole-polygon query
    for got in results:
        assert set(got) == {"A", "B"}
        for k in expected:
            assert got[k] == pytest.approx(expected[k], rel=1e-9)


def _wiggly(poly, step, jitter, seed):
    """``poly``'s outline densified every ``step`` m and each vertex moved < ``jitter`` m: a detailed, natural edge."""
    import numpy as np

    rng = np.random.default_rng(seed)
    xy = shapely.get_coordinates(shapely.segmentize(poly.exterior, step))[:-1]
    xy = xy + rng.uniform(-jitter, jitter, xy.shape)
    out = shapely.Polygon(np.vstack([xy, xy[:1]]), [r.coords for r in poly.interiors])
    assert out.is_valid
    return out


@pytest.fixture
def detailed(tmp_path):
    """A detailed land cover (thousands of vertices per polygon, one with a hole) and two detailed areas."""
    c = shapely.Point(X0, Y0)
    feats = {
        "bosque": _wiggly(c.buffer(6000, quad_segs=64), 8.0, 2.5, 1),  # crosses the area's edge
        "pastos": _wiggly(shapely.Point(X0 + 500, Y0 - 300).buffer(1500, quad_segs=32), 6.0, 2.0, 2),  # inside
        "agua": _wiggly(shapely.box(X0 + 3000, Y0 - 2000, X0 + 9000, Y0 + 2000).difference(
            shapely.box(X0 + 5000, Y0 - 500, X0 + 6000, Y0 + 500)), 10.0, 3.0, 3),  # crosses, with a hole
        "urbano": _wiggly(shapely.box(X0 + 30_000, Y0, X0 + 32_000, Y0 + 2000), 20.0, 5.0, 4),  # far outside
    }
    # classes overlap each other here (bosque holds pastos): the overlay measures each feature, as geopandas does
    gdf = gpd.GeoDataFrame({"clase": list(feats)}, geometry=to_4326(list(feats.values())), crs=4326)
    import_layer(write_vector(tmp_path / "det.gpkg", gdf, "GPKG"), metadata={"slug": "det", "class_field": "clase"})
    areas = [_wiggly(c.buffer(4000, quad_segs=64), 5.0, 1.5, 5),  # ~5,000 vertices: cut into several pieces
             _wiggly(shapely.box(X0 + 2000, Y0 - 6000, X0 + 7000, Y0 + 1000), 10.0, 3.0, 6)]
    return gdf, [to_4326([a]).iloc[0] for a in areas]


def _geopandas_areas(gdf, area_4326):
    """The peer: geopandas.overlay of the same EPSG:4326 data, both sides projected to EPSG:9377 first."""
    left = gpd.GeoDataFrame({"zona": [1]}, geometry=[area_4326], crs=4326).to_crs(9377)
    inter = gpd.overlay(left, gdf.to_crs(9377), how="intersection", keep_geom_type=True)
    return inter.assign(a=inter.area).groupby("clase")["a"].sum().to_dict()


def test_detailed_layer_and_areas_match_geopandas_overlay(detailed):
    """Detailed polygons over detailed areas: the class areas equal geopandas.overlay's (EPSG:9377) to 1e-9,
    through pieces of both sides, and the run exercises pieces wholly covered by an area piece as well as
    pieces crossing its edge (cut), and both the single and the batch form."""
    import numpy as np

    from layers.models import FeaturePiece
    from layers.services import overlay
    from layers.services.areas import parse_area

    gdf, areas = detailed
    expected = [_geopandas_areas(gdf, a) for a in areas]
    assert set(expected[0]) == {"bosque", "pastos", "agua"} and set(expected[1]) == {"bosque", "pastos", "agua"}

    many = overlay.overlay_summary_many([shapely.geometry.mapping(a) for a in areas], layers=["det"])
    single = [overlay.overlay_summary(shapely.geometry.mapping(a), layers=["det"]) for a in areas]
    for exp, out_many, out_one in zip(expected, many, single):
        for out in (out_many, out_one):
            got = {c["value"]: c["area_m2"] for c in out["layers"][0]["classes"]}
            assert set(got) == set(exp)
            for k in exp:
                assert got[k] == pytest.approx(exp[k], rel=1e-9, abs=0), k
            assert {c["value"]: c["features"] for c in out["layers"][0]["classes"]} == {k: 1 for k in exp}

    # what the SQL sees: the stored pieces against the area's pieces, both kinds of pair present
    pieces = np.array([shapely.from_wkb(bytes(g.wkb))
                       for g in FeaturePiece.objects.filter(layer__slug="det").values_list("geom", flat=True)])
    area_pieces = np.array(overlay._area_pieces(parse_area(shapely.geometry.mapping(areas[0])).measured))
    assert len(area_pieces) > 1 and len(pieces) > 4  # both sides detailed enough to be cut into pieces
    ai, pi = shapely.STRtree(pieces).query(area_pieces)
    covered = shapely.covers(area_pieces[ai], pieces[pi])
    crossing = shapely.intersects(area_pieces[ai], pieces[pi]) & ~covered
    assert covered.sum() > 0 and crossing.sum() > 0


def test_area_pieces_tile_the_area_exactly(detailed):
    """_area_pieces cuts a polygon with a hole and a detailed edge into valid pieces of ≤ N vertices that do not
    overlap and add up to its area (to rounding), as ST_Subdivide would."""
    from layers.services import overlay
    from layers.services.areas import measured_shape

    from django.contrib.gis.geos import GEOSGeometry as G

    for a in detailed[1] + [detailed[0].geometry.iloc[2]]:
        shape = measured_shape(G(a.wkt, srid=4326))
        pieces = overlay._area_pieces(shape, 128)
        assert len(pieces) > 10 and all(p.geom_type == "Polygon" and p.is_valid for p in pieces)
        assert max(shapely.get_num_coordinates(p) for p in pieces) <= 128
        assert sum(p.area for p in pieces) == pytest.approx(shape.area, rel=1e-12)
        assert shapely.union_all(pieces).area == pytest.approx(shape.area, rel=1e-12)  # no overlap
        assert shapely.symmetric_difference(shapely.union_all(pieces), shape).area < 1e-6 * shape.area


def test_overlay_summary_many_needs_an_area():
    from layers.services.overlay import overlay_summary_many

    with pytest.raises(InvalidParameter, match="Falta el área"):
        overlay_summary_many([])
