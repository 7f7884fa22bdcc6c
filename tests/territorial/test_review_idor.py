"""Review probe (issue #14 item 6): a planner of another municipality, a reviewer-less user and anonymous
visitors against every POT endpoint of Cali's draft and of Cali's approved plan."""
import json

import pytest

from territorial.pot.services import plans as P

from .test_pot_fixtures import cali_plan, fc, pot_users, to_4326  # noqa: F401
from .test_pot_gates import feature

pytestmark = pytest.mark.django_db

WRITES = [
    ("put", "zones/", {"type": "FeatureCollection", "features": [], "version": 1}),
    ("post", "merge/", {"zone_ids": [1, 2], "version": 1}),
    ("post", "split/", {"zone_id": 1, "line": {"type": "LineString", "coordinates": [[0, 0], [1, 1]]}, "version": 1}),
    ("post", "transition/", {"action": "submit", "version": 1}),
    ("post", "transition/", {"action": "approve", "version": 1}),
    ("post", "versions/1/restore/", {"version": 1}),
    ("post", "comments/", {"text": "x", "parent": 1}),
    ("post", "comments/", {"text": "x", "lon": -76.5, "lat": 3.4}),
    ("post", "waivers/", {"rule": "cobertura", "reason": "x"}),
    ("post", "revision/", {}),
    ("delete", "", None),
]


def _call(client, method, url, body):
    if body is None:
        return getattr(client, method)(url)
    return getattr(client, method)(url, json.dumps(body), content_type="application/json")


@pytest.mark.parametrize("who", ["other_planner", "anonymous"])
def test_no_write_on_another_municipality_plan(client, pot_users, cali_plan, who):
    from territorial.pot.models import Plan

    if who != "anonymous":
        client.force_login(pot_users[who])
    before = (cali_plan.version, cali_plan.status, cali_plan.comments.count())
    for method, tail, body in WRITES:
        r = _call(client, method, f"/api/v1/pot/plans/{cali_plan.pk}/{tail}", body)
        assert r.status_code in (403, 404), (method, tail, r.status_code, r.content[:300])
    r = client.post(f"/api/v1/pot/plans/{cali_plan.pk}/import/", {"file": b"", "version": 1})
    assert r.status_code in (403, 404), r.content
    for tail in ("", "versions/", "versions/1/", "comments/", "export.geojson", "export.gpkg"):
        r = client.get(f"/api/v1/pot/plans/{cali_plan.pk}/{tail}")
        assert r.status_code == 404, (tail, r.status_code)
    p = Plan.objects.get(pk=cali_plan.pk)
    assert (p.version, p.status, p.comments.count()) == before
    assert client.get("/api/v1/pot/review-queue/").status_code == 403


@pytest.mark.parametrize("who", ["other_planner", "anonymous"])
def test_approved_plan_of_another_municipality_is_read_only_and_public_parts_only(client, pot_users, who):
    from shapely.geometry import box

    from territorial.pot.models import Plan

    cali = pot_users["cali"]
    c = cali.geom.transform(9377, clone=True).centroid
    plan = Plan.objects.create(municipality=cali, name="Plan vigente")
    sq = box(c.x - 500, c.y - 500, c.x + 500, c.y + 500)
    P.system_replace_zones(plan, fc(feature(to_4326(sq), "urbano", "centro")), "generar_demo")
    P.retire_for_loader(plan)
    plan.refresh_from_db()
    assert plan.status == "aprobada"
    if who != "anonymous":
        client.force_login(pot_users[who])
    before = (plan.version, plan.status, plan.comments.count(), Plan.objects.count())
    for method, tail, body in WRITES:
        r = _call(client, method, f"/api/v1/pot/plans/{plan.pk}/{tail}", body)
        assert r.status_code in (403, 404, 409), (method, tail, r.status_code, r.content[:300])
    assert client.get(f"/api/v1/pot/plans/{plan.pk}/comments/").status_code == 403
    d = client.get(f"/api/v1/pot/plans/{plan.pk}/").json()
    assert d["internal"] is False and d["comments"] == [] and d["findings"] == [] and d["actions"] == []
    versions = client.get(f"/api/v1/pot/plans/{plan.pk}/versions/").json()["versions"]
    assert [v["number"] for v in versions] == [v.number for v in P.approval_versions(plan)]
    assert client.get(f"/api/v1/pot/plans/{plan.pk}/export.geojson").status_code == 200
    p = Plan.objects.get(pk=plan.pk)
    assert (p.version, p.status, p.comments.count(), Plan.objects.count()) == before
