"""OGC tests: a small vector layer built here (points whose EPSG:9377 coordinates are chosen by hand) and POT
plans in two states (approved, draft) made through the POT services, so visibility is the site's own."""
from __future__ import annotations

import pytest
from django.contrib.gis.geos import MultiPoint, Point, Polygon
from pyproj import Transformer

from tests.territorial.test_pot_fixtures import cabecera_m, fc, pot_users, square_feature  # noqa: F401

TO_4326 = Transformer.from_crs(9377, 4326, always_xy=True)
X0, Y0 = 4_600_000.0, 1_950_000.0  # near Cali in EPSG:9377 (metres)


def make_point_layer(slug="puntos-prueba", n=30, spacing=1000.0, **extra):
    """``n`` points on a west→east line every ``spacing`` m (EPSG:9377), attribute ``grupo`` = i % 3."""
    from layers.models import Feature, Layer

    pts = [Point(*TO_4326.transform(X0 + i * spacing, Y0), srid=4326) for i in range(n)]
    layer = Layer.objects.create(
        slug=slug, title=f"Capa {slug}", kind="vector", geometry_type="point", source="prueba", licence="CC0",
        data_date="2024-05-01", feature_count=n, fields=[{"name": "grupo", "type": "int32"},
                                                         {"name": "nombre", "type": "str"}],
        class_field="nombre", extent=Polygon.from_bbox(MultiPoint(pts, srid=4326).extent), **extra)
    Feature.objects.bulk_create([
        Feature(layer=layer, fid=i, geom=p, attributes={"grupo": i % 3, "nombre": f"p{i}"}, class_value=f"p{i}")
        for i, p in enumerate(pts)])
    return layer


@pytest.fixture
def point_layer(territory):
    return make_point_layer()


@pytest.fixture
def pot_plans(pot_users, settings):
    """An approved plan in Jamundí (76364) and a draft in Cali (76001), each with one zone."""
    from territorial.models import Plan, PlanVersion
    from territorial.pot.services import plans as P
    from territorial.pot.models import PotRulesSettings

    PotRulesSettings(coverage_min_pct=0.0, gap_gate_m2=1e12, outside_tolerance_m2=1e12).save()
    jx, jy = cabecera_m(pot_users["jamundi"])
    cx, cy = cabecera_m(pot_users["cali"])
    approved = P.create_plan(pot_users["other_planner"], pot_users["jamundi"], "Aprobado Jamundí")
    P.save_zones(pot_users["other_planner"], approved,
                 fc(square_feature(jx - 500, jy - 500, jx + 500, jy + 500, soil="urbano", name="centro")), 1)
    approved.refresh_from_db()
    Plan.objects.filter(pk=approved.pk).update(status="aprobada")
    PlanVersion.objects.create(plan=approved, number=approved.version + 1, action="aprobar", summary="aprobado",
                               status="aprobada", snapshot={})
    draft = P.create_plan(pot_users["planner"], pot_users["cali"], "Borrador Cali")
    P.save_zones(pot_users["planner"], draft,
                 fc(square_feature(cx - 300, cy - 300, cx + 300, cy + 300, soil="rural", name="borrador")), 1)
    return {"approved": approved, "draft": draft, **pot_users}
