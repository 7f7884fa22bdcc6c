"""Shared fixtures of the POT tests (imported by the test_pot_* modules): users per role and squares
built in EPSG:9377 metres, so every expected area is computed by hand."""
import numpy as np
import pytest
import shapely
from pyproj import Transformer
from shapely.geometry import box, mapping

TO_4326 = Transformer.from_crs(9377, 4326, always_xy=True)
TO_9377 = Transformer.from_crs(4326, 9377, always_xy=True)


def to_4326(geom_m):
    return shapely.transform(geom_m, lambda xy: np.column_stack(TO_4326.transform(xy[:, 0], xy[:, 1])))


def cabecera_m(municipality):
    p = municipality.cabecera
    return TO_9377.transform(p.x, p.y)


def square_feature(x0, y0, x1, y1, soil="urbano", name="", fid=None, **props):
    """A rectangle given in EPSG:9377 metres, as a GeoJSON feature in EPSG:4326."""
    geom = to_4326(box(x0, y0, x1, y1))
    return {"type": "Feature", "id": fid, "geometry": mapping(geom),
            "properties": dict({"soil_class": soil, "name": name}, **props)}


def fc(*features):
    return {"type": "FeatureCollection", "features": list(features)}


@pytest.fixture
def pot_users(territory, django_user_model):
    from django.contrib.auth.models import Group

    from territorial.models import Municipality
    from territorial.pot.models import PlannerAssignment

    def make(name, group=None, **kw):
        u = django_user_model.objects.create_user(name, password=None, **kw)  # no hashing: fast tests
        if group:
            u.groups.add(Group.objects.get_or_create(name=group)[0])  # a flush (transactional test) drops seeded groups
        return u

    users = {
        "planner": make("planificadora", "Planificador"),
        "other_planner": make("planificador_jamundi", "Planificador"),
        "reviewer": make("revisor", "Revisor CVC"),
        "reviewer2": make("revisora2", "Revisor CVC"),
        "analyst": make("analista", "Analista"),
    }
    cali = Municipality.objects.get(divipola="76001")
    jamundi = Municipality.objects.get(divipola="76364")
    PlannerAssignment.objects.create(user=users["planner"], municipality=cali)
    PlannerAssignment.objects.create(user=users["other_planner"], municipality=jamundi)
    users["cali"], users["jamundi"] = cali, jamundi
    return users


@pytest.fixture
def cali_plan(pot_users):
    from territorial.pot.services.plans import create_plan

    return create_plan(pot_users["planner"], pot_users["cali"], "Propuesta de prueba")


@pytest.fixture
def lenient_rules(db):
    """POT validation thresholds under which a plan of a few test squares passes the gates (coverage 0 %,
    no gap or outside-area gate): for the tests of the workflow itself, not of the gates
    (test_pot_gates.py tests those with the documented defaults)."""
    from territorial.pot.models import PotRulesSettings

    PotRulesSettings(coverage_min_pct=0.0, gap_gate_m2=1e12, outside_tolerance_m2=1e12).save()
