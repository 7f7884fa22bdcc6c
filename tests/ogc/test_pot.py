"""POT zones through OGC: the approved plan's zones are served, a draft's never (anonymous, planners of other
municipalities, and the draft's own planner too: the OGC collection is the approved zoning)."""
from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db
URL = "/ogc/collections/pot-zonas/items"


def plans_seen(client):
    body = client.get(URL, {"limit": 1000}).json()
    return {f["properties"]["plan_id"] for f in body["features"]}, body


def test_approved_zones_visible_with_soil_class_plan_and_version(client, pot_plans):
    seen, body = plans_seen(client)
    approved = pot_plans["approved"]
    assert seen == {approved.pk}
    props = body["features"][0]["properties"]
    assert props["soil_class"] == "urbano" and props["plan"] == "Aprobado Jamundí"
    assert props["plan_version"] == approved.version and props["divipola"] == "76364"
    assert props["area_m2"] == pytest.approx(1_000_000, rel=1e-3)  # the 1 km square drawn in EPSG:9377
    assert props["approved_at"]


@pytest.mark.parametrize("who", [None, "other_planner", "planner"])
def test_draft_zones_never_appear(client, pot_plans, who):
    if who:
        client.force_login(pot_plans[who])
    seen, _ = plans_seen(client)
    assert pot_plans["draft"].pk not in seen and pot_plans["approved"].pk in seen
    draft_zone = pot_plans["draft"].zones.first()
    assert client.get(f"{URL}/{draft_zone.pk}").status_code == 404
    assert client.get(URL, {"plan_id": pot_plans["draft"].pk}).json()["numberMatched"] == 0


def test_datetime_filters_on_the_approval_time(client, pot_plans):
    assert client.get(URL, {"datetime": "2000-01-01/2000-12-31"}).json()["numberMatched"] == 0
    assert client.get(URL, {"datetime": "2000-01-01/.."}).json()["numberMatched"] == 1
    assert client.get(URL, {"datetime": "../2000-01-01T00:00:00Z"}).json()["numberMatched"] == 0
