"""Zone pieces (ZonePiece, what the conflict queries join on): they tile each stored zone exactly — areas
summing to the zone's, union equal to the zone, each within the subdivision's vertex bound — and a new save
of the plan replaces them (no piece of a deleted or older geometry survives). Checked with shapely on the
stored zones, independently of PostGIS."""
import math

import pytest
import shapely
from shapely.geometry import Polygon, mapping

from territorial.pot.services import plans as P

from .test_pot_fixtures import cabecera_m, cali_plan, fc, pot_users, square_feature, to_4326  # noqa: F401

pytestmark = pytest.mark.django_db


def _star(x, y, radius, n=1500):
    """A star-shaped ring of ``n`` vertices: far more than one piece may hold (ST_Subdivide at 256)."""
    return Polygon([(x + (radius + 0.08 * radius * math.sin(17 * t)) * math.cos(t),
                     y + (radius + 0.08 * radius * math.sin(17 * t)) * math.sin(t))
                    for t in (2 * math.pi * k / n for k in range(n))])


def _feature(geom_m, soil="urbano"):
    return {"type": "Feature", "geometry": mapping(to_4326(geom_m)), "properties": {"soil_class": soil}}


def _zones_and_pieces(plan):
    from territorial.pot.models import Zone, ZonePiece

    zones = {z.pk: shapely.from_wkb(bytes(z.geom_m.wkb)) for z in Zone.objects.filter(plan=plan)}
    pieces = {}
    for zp in ZonePiece.objects.filter(plan_id_copy=plan.pk):
        pieces.setdefault(zp.zone_id, []).append((zp.pk, shapely.from_wkb(bytes(zp.geom_m.wkb))))
    return zones, pieces


def _assert_tiled(zones, pieces):
    assert set(pieces) == set(zones)
    for zid, zone in zones.items():
        parts = [g for _, g in pieces[zid]]
        assert all(shapely.get_num_coordinates(g) <= 256 for g in parts)
        assert sum(g.area for g in parts) == pytest.approx(zone.area, rel=1e-9)
        assert shapely.symmetric_difference(shapely.union_all(parts), zone).area <= 1e-9 * zone.area


def test_zone_pieces_tile_each_zone_and_are_replaced_on_save(pot_users, cali_plan):
    x, y = cabecera_m(pot_users["cali"])
    star = _star(x, y, 600)
    P.save_zones(pot_users["planner"], cali_plan, fc(_feature(star), square_feature(x + 900, y - 300, x + 1500, y + 300,
                                                                                    soil="suburbano")), 1)
    zones, pieces = _zones_and_pieces(cali_plan)
    assert len(zones) == 2
    _assert_tiled(zones, pieces)
    star_id = max(zones, key=lambda z: shapely.get_num_coordinates(zones[z]))
    assert shapely.get_num_coordinates(zones[star_id]) > 1000 and len(pieces[star_id]) > 1  # really cut
    old_ids = {pid for ps in pieces.values() for pid, _ in ps}

    # saved again: a smaller star only (the square deleted) — pieces follow the new zones, none left over
    cali_plan.refresh_from_db()
    P.save_zones(pot_users["planner"], cali_plan, fc(_feature(_star(x, y, 400, n=900))), cali_plan.version)
    zones, pieces = _zones_and_pieces(cali_plan)
    assert len(zones) == 1
    _assert_tiled(zones, pieces)
    assert not old_ids & {pid for ps in pieces.values() for pid, _ in ps}
    (only,) = zones.values()
    assert only.area == pytest.approx(_star(x, y, 400, n=900).area, rel=1e-3)  # the new drawing, not the old
