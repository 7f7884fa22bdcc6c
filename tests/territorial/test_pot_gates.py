"""Issue #9, items 1, 2 and 4: POT rules as gates. A zone beyond the outside tolerance, coverage under the
threshold or a big gap is a gate (the save succeeds, the submission is refused with a 409 naming each
gate and its figures); a reviewer waives each gate with a written reason before the plan can go on;
«fit» clips a zone to the municipal boundary and to the zones already there. Real municipality: Tuluá
(76834). Expected figures are computed here independently, with shapely/pyproj in EPSG:9377."""
import numpy as np
import pytest
import shapely
from pyproj import Transformer
from shapely.geometry import box, mapping, shape

from territorial.pot.services import plans as P

from .test_pot_fixtures import fc, pot_users, to_4326  # noqa: F401

pytestmark = pytest.mark.django_db

TULUA = "76834"
TO_9377 = Transformer.from_crs(4326, 9377, always_xy=True)


def metres(geom):
    return shapely.transform(geom, lambda xy: np.column_stack(TO_9377.transform(xy[:, 0], xy[:, 1])))


@pytest.fixture
def tulua(pot_users):
    from territorial.models import Municipality
    from territorial.pot.models import PlannerAssignment

    muni = Municipality.objects.get(divipola=TULUA)
    PlannerAssignment.objects.create(user=pot_users["planner"], municipality=muni)
    return muni


@pytest.fixture
def tulua_plan(pot_users, tulua):
    return P.create_plan(pot_users["planner"], tulua, "POT Tuluá — propuesta")


def muni_m(muni):
    return metres(shapely.from_wkb(bytes(muni.geom.wkb)))


def feature(geom_4326, soil="rural", name="", fid=None):
    return {"type": "Feature", "id": fid, "geometry": mapping(geom_4326), "properties": {"soil_class": soil, "name": name}}


def east_rectangle(muni, outside_share=0.75, side=20_000.0):
    """A side × side square (EPSG:9377) over the municipality's eastern edge, slid until about
    ``outside_share`` of it lies outside the municipality (found by bisection on the real polygon)."""
    m = muni_m(muni)
    minx, miny, maxx, maxy = m.bounds
    y0 = (miny + maxy) / 2
    lo, hi = minx, maxx
    for _ in range(40):
        x0 = (lo + hi) / 2
        sq = box(x0, y0 - side / 2, x0 + side, y0 + side / 2)
        share = 1 - sq.intersection(m).area / sq.area
        lo, hi = (lo, x0) if share > outside_share else (x0, hi)
    return box(x0, y0 - side / 2, x0 + side, y0 + side / 2)


def _submit(client, plan, user):
    client.force_login(user)
    plan.refresh_from_db()
    return client.post(f"/api/v1/pot/plans/{plan.pk}/transition/", {"action": "submit", "version": plan.version},
                        content_type="application/json")


# ------------------------------------------------------------------ fit
def test_fit_clips_a_zone_drawn_75_percent_outside(client, pot_users, tulua, tulua_plan):
    drawn = to_4326(east_rectangle(tulua))
    inside_m = muni_m(tulua)
    drawn_m = metres(drawn)
    expected = drawn_m.intersection(inside_m).area  # independent: shapely on pyproj's EPSG:9377
    assert 0.70 < 1 - expected / drawn_m.area < 0.80  # the case of the issue: ~75 % outside
    client.force_login(pot_users["planner"])
    r = client.put(f"/api/v1/pot/plans/{tulua_plan.pk}/zones/", {"type": "FeatureCollection", "version": 1,
                   "features": [feature(drawn, "rural", "rectángulo")]}, content_type="application/json")
    assert r.status_code == 200, r.json()
    res = r.json()["result"]
    zone = tulua_plan.zones.get()
    assert zone.area_m2 == pytest.approx(expected, rel=1e-6)
    assert metres(shapely.from_wkb(bytes(zone.geom.wkb))).area == pytest.approx(expected, rel=1e-6)
    [cut] = res["clipped"]
    assert cut["outside_m2"] == pytest.approx(drawn_m.area - expected, rel=1e-6)
    assert cut["outside_ha"] == pytest.approx((drawn_m.area - expected) / 10_000, rel=1e-6)
    assert "fuera del municipio" in cut["message"]
    # fitted to the boundary: no outside gate is left, only coverage (a rectangle is not a plan)
    assert [f["rule"] for f in res["findings"] if f["severity"] == "gate"] == ["coverage"]
    assert res["state"] == "gates"


def test_fit_false_keeps_the_drawing_and_reports_the_outside_gate(pot_users, tulua, tulua_plan):
    drawn = to_4326(east_rectangle(tulua))
    res = P.save_zones(pot_users["planner"], tulua_plan, fc(feature(drawn)), 1, fit=False)
    assert res.clipped == []
    gate = next(f for f in res.findings if f["rule"] == "outside_municipality")
    band = muni_m(tulua).buffer(50)  # the documented default band (generalised MGN boundary)
    beyond = metres(drawn).difference(band).area
    assert gate["severity"] == "gate" and gate["figures"]["value"] == pytest.approx(beyond, rel=1e-4)
    assert gate["figures"]["threshold"] == 5_000.0 and gate["zone_ids"] == [tulua_plan.zones.get().pk]
    assert gate["geometry"]["type"] in ("Polygon", "MultiPolygon")


def test_fit_clips_a_new_zone_under_the_existing_ones(pot_users, tulua, tulua_plan):
    m = muni_m(tulua)
    c = m.centroid
    a = box(c.x - 1000, c.y - 1000, c.x + 1000, c.y + 1000)
    b = box(c.x, c.y - 1000, c.x + 2000, c.y + 1000)  # half over «a»
    res = P.save_zones(pot_users["planner"], tulua_plan, fc(feature(to_4326(a), "urbano")), 1)
    first = tulua_plan.zones.get()
    res = P.save_zones(pot_users["planner"], tulua_plan, fc(
        feature(shape(P.zone_feature(first)["geometry"]), "urbano", fid=first.pk), feature(to_4326(b), "rural")),
        res.version)
    # the stored zone lies on the 1 cm storage grid: a few m² on a 2 km edge
    assert res.clipped[0]["overlap_m2"] == pytest.approx(2_000_000, rel=1e-5)
    assert res.clipped[0]["overlap_ha"] == pytest.approx(200, rel=1e-5)
    first.refresh_from_db()
    assert first.area_m2 == pytest.approx(4_000_000, rel=1e-6)  # the existing zone wins
    new = tulua_plan.zones.exclude(pk=first.pk).get()
    kept = shapely.from_wkb(bytes(first.geom_m.wkb))  # the existing zone as stored (EPSG:9377)
    assert new.area_m2 == pytest.approx(metres(to_4326(b)).difference(kept).area, rel=1e-6)
    assert not new.geom_m.intersection(first.geom_m).area > 1.0


# ------------------------------------------------------------------ gates block the submission
def test_zone_beyond_the_outside_tolerance_cannot_be_submitted(client, pot_users, tulua, tulua_plan):
    """The whole municipality zoned (coverage 100 %) but one zone sticks 1 km out of it: one gate."""
    m = muni_m(tulua)
    minx, miny, maxx, maxy = m.bounds
    y0 = (miny + maxy) / 2
    x_edge = max(x for x, y in shapely.get_coordinates(m.boundary) if abs(y - y0) < 5_000)
    bump = box(x_edge - 3000, y0 - 500, x_edge + 1000, y0 + 500)
    whole = shapely.make_valid(shapely.union(m, bump))
    P.save_zones(pot_users["planner"], tulua_plan, fc(feature(to_4326(whole), "rural", "todo")), 1, fit=False)
    r = _submit(client, tulua_plan, pot_users["planner"])
    assert r.status_code == 409
    body = r.json()
    assert body["error"] == "gates_open"
    [gate] = body["context"]["gates"]
    stored = metres(shapely.from_wkb(bytes(tulua_plan.zones.get().geom.wkb)))
    beyond = stored.difference(m.buffer(50)).area
    assert gate["rule"] == "outside_municipality" and gate["figures"]["value"] == pytest.approx(beyond, rel=1e-3)
    assert beyond > 100_000  # the bump minus the 50 m band, cut by the real boundary
    # the detail names the gate and its figures, in es-CO numbers
    assert "Zona fuera del municipio" in body["detail"] and "franja de 50\u00a0m" in body["detail"]
    assert "tolerancia 5.000\u00a0m²" in body["detail"]
    tulua_plan.refresh_from_db()
    assert tulua_plan.status == "borrador"


def test_coverage_under_the_threshold_cannot_be_submitted(client, pot_users, tulua, tulua_plan):
    """The issue's plan: one zone covering ~3 % of Tuluá (an 877 km² gap)."""
    m = muni_m(tulua)
    c = m.centroid
    zone = box(c.x - 2700, c.y - 2700, c.x + 2700, c.y + 2700).intersection(m)
    P.save_zones(pot_users["planner"], tulua_plan, fc(feature(to_4326(zone))), 1)
    r = _submit(client, tulua_plan, pot_users["planner"])
    assert r.status_code == 409 and r.json()["error"] == "gates_open"
    [gate] = r.json()["context"]["gates"]
    covered = metres(shapely.from_wkb(bytes(tulua_plan.zones.get().geom.wkb))).area
    assert gate["rule"] == "coverage" and gate["figures"]["threshold"] == 90.0
    assert gate["figures"]["value"] == pytest.approx(100 * covered / m.area, rel=1e-4)
    assert gate["figures"]["uncovered_m2"] == pytest.approx(m.area - covered, rel=1e-4)
    assert "Cobertura del municipio" in r.json()["detail"] and "km² sin clase de suelo" in r.json()["detail"]


def test_gap_inside_the_zoned_area_is_a_gate_above_one_hectare(pot_users, tulua, tulua_plan):
    m = muni_m(tulua)
    c = m.centroid
    big_hole = box(c.x - 100, c.y - 100, c.x + 100, c.y + 100)  # 4 ha
    small_hole = box(c.x + 3000, c.y, c.x + 3050, c.y + 50)  # 0,25 ha
    zoned = m.difference(big_hole).difference(small_hole)
    res = P.save_zones(pot_users["planner"], tulua_plan, fc(feature(to_4326(zoned))), 1, fit=False)
    gaps = sorted((f for f in res.findings if f["rule"] == "gap"), key=lambda f: f["figures"]["value"])
    assert [g["severity"] for g in gaps] == ["warning", "gate"]
    assert gaps[0]["figures"]["value"] == pytest.approx(2_500, rel=1e-3)
    assert gaps[1]["figures"]["value"] == pytest.approx(40_000, rel=1e-3)
    assert not [f for f in res.findings if f["rule"] == "coverage"]  # 99,9 % covered


def test_thresholds_come_from_the_admin_singleton(pot_users, tulua, tulua_plan):
    from territorial.pot.models import PotRulesSettings

    m = muni_m(tulua)
    c = m.centroid
    P.save_zones(pot_users["planner"], tulua_plan, fc(feature(to_4326(box(c.x - 500, c.y - 500, c.x + 500, c.y + 500)))), 1)
    with pytest.raises(P.GatesOpen):
        P.transition(pot_users["planner"], tulua_plan, "enviar", 2)
    settings = PotRulesSettings.load()
    settings.coverage_min_pct = 0.05  # 1 km² of ~910 km² is 0,11 %
    settings.save()
    assert PotRulesSettings.objects.count() == 1
    P.transition(pot_users["planner"], tulua_plan, "enviar", 2)
    tulua_plan.refresh_from_db()
    assert tulua_plan.status == "enviada" and tulua_plan.submitted_at is not None


def test_overlap_without_fit_is_a_422_naming_the_zones(client, pot_users, tulua, tulua_plan):
    m = muni_m(tulua)
    c = m.centroid
    a, b = box(c.x, c.y, c.x + 1000, c.y + 1000), box(c.x + 600, c.y, c.x + 1600, c.y + 1000)
    client.force_login(pot_users["planner"])
    r = client.put(f"/api/v1/pot/plans/{tulua_plan.pk}/zones/", {
        "type": "FeatureCollection", "version": 1, "fit": False,
        "features": [feature(to_4326(a), "urbano", "A"), feature(to_4326(b), "rural", "B")]},
        content_type="application/json")
    assert r.status_code == 422 and r.json()["error"] == "validation"
    overlap = [f for f in r.json()["context"]["findings"] if f["rule"] == "overlap"]
    assert overlap[0]["severity"] == "error" and overlap[0]["figures"]["value"] == pytest.approx(400_000, rel=1e-4)
    assert "40,0\u00a0ha" in r.json()["detail"]
    assert tulua_plan.zones.count() == 0 and tulua_plan.versions.count() == 1


# ------------------------------------------------------------------ waivers and the review
def _gated_plan(pot_users, plan, muni):
    """A plan with two gates: coverage (~3 %) and a zone 1 km outside the boundary."""
    m = muni_m(muni)
    c = m.centroid
    minx, miny, maxx, maxy = m.bounds
    y0 = (miny + maxy) / 2
    x_edge = max(x for x, y in shapely.get_coordinates(m.boundary) if abs(y - y0) < 5_000)
    inside = box(c.x - 2000, c.y - 2000, c.x + 2000, c.y + 2000)
    outside = box(x_edge - 500, y0 - 500, x_edge + 1500, y0 + 500)
    P.save_zones(pot_users["planner"], plan, fc(feature(to_4326(inside), "urbano"), feature(to_4326(outside), "rural")),
                 1, fit=False)
    plan.refresh_from_db()
    return plan


def test_reviewer_approves_only_after_waiving_each_gate_with_a_reason(client, pot_users, tulua, tulua_plan):
    plan = _gated_plan(pot_users, tulua_plan, tulua)
    assert {g["rule"] for g in P.open_gates(P.current_findings(plan))} == {"coverage", "outside_municipality"}
    planner, reviewer, reviewer2 = pot_users["planner"], pot_users["reviewer"], pot_users["reviewer2"]
    # the planner sees no «submit» while gates are open; the reviewer sees «waive», never the planner
    client.force_login(planner)
    detail = client.get(f"/api/v1/pot/plans/{plan.pk}/").json()
    assert len(detail["open_gates"]) == 2 and "submit" not in [a["action"] for a in detail["actions"]]
    assert "waive" not in [a["action"] for a in detail["actions"]]
    r = client.post(f"/api/v1/pot/plans/{plan.pk}/waivers/", {"rule": "coverage", "reason": "x"},
                    content_type="application/json")
    assert r.status_code == 403
    client.force_login(reviewer)
    waive = next(a for a in client.get(f"/api/v1/pot/plans/{plan.pk}/").json()["actions"] if a["action"] == "waive")
    assert waive["needs_reason"] is True and waive["confirm"]
    url = f"/api/v1/pot/plans/{plan.pk}/waivers/"
    assert client.post(url, {"rule": "coverage", "reason": "  "}, content_type="application/json").status_code == 400
    r = client.post(url, {"rule": "coverage", "reason": "Fase 1: el suelo rural se adopta en 2027."},
                    content_type="application/json")
    assert r.status_code == 201, r.json()
    # one gate still open: the submission names it (and only it)
    r = _submit(client, plan, planner)
    assert r.status_code == 409 and [g["rule"] for g in r.json()["context"]["gates"]] == ["outside_municipality"]
    client.force_login(reviewer)
    zone_id = r.json()["context"]["gates"][0]["zone_ids"][0]
    r = client.post(url, {"rule": "outside_municipality", "zone_ids": [zone_id],
                          "reason": "Límite en disputa con Andalucía (IGAC)."}, content_type="application/json")
    assert r.status_code == 201
    assert _submit(client, plan, planner).status_code == 200
    plan.refresh_from_db()
    P.transition(reviewer2, plan, "review", plan.version)  # refreshes ``plan`` in place
    P.transition(reviewer2, plan, "approve", plan.version, "Aprobado con dispensas.")
    plan.refresh_from_db()
    assert plan.status == "aprobada"
    # the history records who waived what, when and why; the findings carry the waivers
    waivers = plan.versions.filter(action="dispensar").order_by("number")
    assert [v.author for v in waivers] == [reviewer, reviewer]
    assert "Fase 1: el suelo rural se adopta en 2027." in waivers[0].summary
    assert waivers[1].changes["reason"] == "Límite en disputa con Andalucía (IGAC)."
    found = {f["rule"]: f for f in P.current_findings(plan) if f["severity"] == "gate"}
    assert found["coverage"]["waived"] and found["coverage"]["waiver"]["by"] == reviewer.username
    assert found["coverage"]["waiver"]["at"].endswith("-05:00")  # America/Bogota
    assert "Aprobado con dispensas." in plan.versions.get(action="aprobar").summary


def test_approval_with_an_open_gate_is_409_until_waived(client, pot_users, tulua, tulua_plan):
    """A plan that reached review with gates (submitted before the gates existed, or the CVC tightened a
    threshold since): approving is refused, naming each gate; after the waiver it goes through."""
    plan = _gated_plan(pot_users, tulua_plan, tulua)
    plan.status = "en_revision"
    plan.save()
    client.force_login(pot_users["reviewer"])
    r = client.post(f"/api/v1/pot/plans/{plan.pk}/transition/", {"action": "approve", "version": plan.version},
                    content_type="application/json")
    assert r.status_code == 409 and r.json()["error"] == "gates_open"
    assert {g["rule"] for g in r.json()["context"]["gates"]} == {"coverage", "outside_municipality"}
    assert "Cobertura del municipio" in r.json()["detail"] and "Zona fuera del municipio" in r.json()["detail"]
    for rule in ("coverage", "outside_municipality"):
        assert client.post(f"/api/v1/pot/plans/{plan.pk}/waivers/", {"rule": rule, "reason": "Revisado en campo."},
                           content_type="application/json").status_code == 201
    plan.refresh_from_db()
    r = client.post(f"/api/v1/pot/plans/{plan.pk}/transition/", {"action": "approve", "version": plan.version},
                    content_type="application/json")
    assert r.status_code == 200 and r.json()["status"] == "aprobada"


def test_editing_the_zones_voids_the_waivers(pot_users, tulua, tulua_plan):
    plan = _gated_plan(pot_users, tulua_plan, tulua)
    P.waive_gate(pot_users["reviewer"], plan, "coverage", None, "Por fases.")
    plan.refresh_from_db()
    assert not [g for g in P.open_gates(P.current_findings(plan)) if g["rule"] == "coverage"]
    features = P.snapshot(plan)["features"][:1]  # the planner drops the outside zone
    P.save_zones(pot_users["planner"], plan, {"type": "FeatureCollection", "features": features}, plan.version)
    plan.refresh_from_db()
    assert [g["rule"] for g in P.open_gates(P.current_findings(plan))] == ["coverage"]  # to be waived again


def test_return_needs_a_reason_and_records_it(client, pot_users, tulua, tulua_plan):
    from territorial.pot.models import PotRulesSettings

    PotRulesSettings(coverage_min_pct=0.0).save()
    m = muni_m(tulua)
    c = m.centroid
    P.save_zones(pot_users["planner"], tulua_plan, fc(feature(to_4326(box(c.x, c.y, c.x + 900, c.y + 900))), ), 1)
    P.transition(pot_users["planner"], tulua_plan, "enviar", 2)
    client.force_login(pot_users["reviewer"])
    url = f"/api/v1/pot/plans/{tulua_plan.pk}/transition/"
    for note in (None, "", "   "):
        body = {"action": "return", "version": 3} | ({"note": note} if note is not None else {})
        r = client.post(url, body, content_type="application/json")
        assert r.status_code == 400 and r.json()["detail"] == "Indique el motivo de la devolución."
    tulua_plan.refresh_from_db()
    assert tulua_plan.status == "enviada" and tulua_plan.version == 3
    r = client.post(url, {"action": "return", "version": 3, "note": "Falta el suelo de protección."},
                    content_type="application/json")
    assert r.status_code == 200 and r.json()["status"] == "devuelta"
    v = tulua_plan.versions.get(action="devolver")
    assert v.changes["note"] == "Falta el suelo de protección." and v.author == pot_users["reviewer"]


def test_no_change_save_creates_no_version(client, pot_users, tulua, tulua_plan):
    m = muni_m(tulua)
    c = m.centroid
    res = P.save_zones(pot_users["planner"], tulua_plan, fc(feature(to_4326(box(c.x, c.y, c.x + 900, c.y + 900)))), 1)
    assert res.version == 2 and not res.unchanged
    client.force_login(pot_users["planner"])
    detail = client.get(f"/api/v1/pot/plans/{tulua_plan.pk}/").json()
    body = dict(detail["zones"], version=detail["version"])  # what the editor sends back untouched
    r = client.put(f"/api/v1/pot/plans/{tulua_plan.pk}/zones/", body, content_type="application/json")
    assert r.status_code == 200
    result = r.json()["result"]
    assert result["unchanged"] is True and result["version"] == 2 and r.json()["plan"]["version"] == 2
    assert tulua_plan.versions.count() == 2
    assert [f["rule"] for f in result["findings"]] == ["coverage"]  # the findings still come back
    # a stale client saving «nothing» still gets the optimistic-lock 409
    r = client.put(f"/api/v1/pot/plans/{tulua_plan.pk}/zones/", dict(body, version=1), content_type="application/json")
    assert r.status_code == 409


# ------------------------------------------------------------------ the queue and the actions
def test_review_queue_lists_submitted_plans_oldest_first_with_open_gates(client, pot_users, tulua, tulua_plan):
    from datetime import timedelta

    from django.utils import timezone

    from territorial.pot.models import PotRulesSettings

    m = muni_m(tulua)
    c = m.centroid
    older = P.create_plan(pot_users["planner"], tulua, "Primera propuesta")
    for plan in (older, tulua_plan):
        P.save_zones(pot_users["planner"], plan, fc(feature(to_4326(box(c.x, c.y, c.x + 900, c.y + 900)))), 1)
    settings = PotRulesSettings(coverage_min_pct=0.0)
    settings.save()
    P.transition(pot_users["planner"], tulua_plan, "enviar", 2)
    P.transition(pot_users["planner"], older, "enviar", 2)
    type(older).objects.filter(pk=older.pk).update(submitted_at=timezone.now() - timedelta(days=3))
    settings.coverage_min_pct = 90.0  # the CVC tightens the rule while both wait: each has a gate now
    settings.save()
    P.transition(pot_users["reviewer"], tulua_plan, "iniciar_revision", 3)
    draft = P.create_plan(pot_users["planner"], tulua, "Borrador")  # never submitted: not queued
    client.force_login(pot_users["planner"])
    assert client.get("/api/v1/pot/review-queue/").status_code == 403
    client.force_login(pot_users["reviewer"])
    r = client.get("/api/v1/pot/review-queue/")
    assert r.status_code == 200
    rows = r.json()
    assert [row["id"] for row in rows] == [older.pk, tulua_plan.pk] and draft.pk not in [x["id"] for x in rows]
    assert [row["status"] for row in rows] == ["enviada", "en_revision"]
    assert rows[0]["submitted_by"] == pot_users["planner"].username and rows[0]["municipality"] == TULUA
    # the stored findings were measured at submission (lenient); the queue reads them as stored
    assert all(row["open_gates"] == len(row["gates"]) for row in rows)


def test_authors_never_get_approve(client, pot_users, tulua, tulua_plan):
    from territorial.pot.models import PlannerAssignment, PotRulesSettings

    PotRulesSettings(coverage_min_pct=0.0).save()
    author = pot_users["reviewer"]
    author.groups.add(*pot_users["planner"].groups.all())
    PlannerAssignment.objects.create(user=author, municipality=tulua)
    m = muni_m(tulua)
    c = m.centroid
    P.save_zones(author, tulua_plan, fc(feature(to_4326(box(c.x, c.y, c.x + 900, c.y + 900)))), 1)
    P.transition(pot_users["planner"], tulua_plan, "enviar", 2)
    P.transition(pot_users["reviewer2"], tulua_plan, "iniciar_revision", 3)
    client.force_login(author)
    actions = [a["action"] for a in client.get(f"/api/v1/pot/plans/{tulua_plan.pk}/").json()["actions"]]
    assert "approve" not in actions and "return" in actions
    client.force_login(pot_users["reviewer2"])
    actions = client.get(f"/api/v1/pot/plans/{tulua_plan.pk}/").json()["actions"]
    assert [a["action"] for a in actions] == ["approve", "return"]
    assert all(set(a) >= {"action", "label", "confirm", "needs_reason"} for a in actions)
    client.force_login(pot_users["analyst"])
    assert client.get(f"/api/v1/pot/plans/{tulua_plan.pk}/").json()["actions"] == []


def test_a_zone_sent_back_rounded_by_the_editor_is_unchanged(client, pot_users, tulua, tulua_plan):
    """Leaflet's toGeoJSON rounds to 6 decimals: a fitted zone sent back untouched must not count as changed
    (no version, nothing «clipped» again along the boundary)."""
    drawn = to_4326(east_rectangle(tulua))
    res = P.save_zones(pot_users["planner"], tulua_plan, fc(feature(drawn)), 1)
    assert res.clipped and res.version == 2
    snap = P.snapshot(tulua_plan)
    rounded = shapely.transform(shape(snap["features"][0]["geometry"]), lambda xy: np.round(xy, 6))
    assert not shapely.equals_exact(rounded, shape(snap["features"][0]["geometry"]), 1e-9)  # really rounded
    snap["features"][0]["geometry"] = mapping(rounded)
    client.force_login(pot_users["planner"])
    r = client.put(f"/api/v1/pot/plans/{tulua_plan.pk}/zones/", dict(snap, version=2), content_type="application/json")
    result = r.json()["result"]
    assert result["unchanged"] is True and result["clipped"] == [] and result["version"] == 2
    # a real move (1 m) is a change, fitted again
    moved = shapely.transform(shape(snap["features"][0]["geometry"]), lambda xy: xy + [0.00001, 0])
    snap["features"][0]["geometry"] = mapping(moved)
    r = client.put(f"/api/v1/pot/plans/{tulua_plan.pk}/zones/", dict(snap, version=2), content_type="application/json")
    assert r.json()["result"]["unchanged"] is False and r.json()["result"]["version"] == 3


def test_thresholds_are_edited_in_the_admin(client, django_user_model, territory):
    from territorial.pot.models import PotRulesSettings
    from territorial.pot.services.validation import rules

    assert rules() == {"outside_band_m": 50.0, "outside_tolerance_m2": 5_000.0, "coverage_min_pct": 90.0,
                       "gap_gate_m2": 10_000.0, "overlap_tolerance_m2": 1.0}  # the documented defaults
    admin = django_user_model.objects.create_superuser("cvc_admin", "a@example.org", "x")
    client.force_login(admin)
    url = "/admin/territorial/potrulessettings/add/"
    r = client.post(url, {"outside_band_m": "30", "outside_tolerance_m2": "2500", "coverage_min_pct": "95",
                          "gap_gate_m2": "5000", "overlap_tolerance_m2": "1"})
    assert r.status_code == 302, r.content.decode()[:500]
    assert rules()["coverage_min_pct"] == 95.0 and rules()["outside_band_m"] == 30.0
    assert client.get(url).status_code == 403  # a singleton: no second row
    assert PotRulesSettings.objects.count() == 1
    r = client.get("/admin/territorial/potrulessettings/1/change/")
    assert r.status_code == 200 and "0,5 ha" in r.content.decode()  # the help text documents the defaults


def test_new_endpoints_check_permission_before_parsing(client, pot_users, tulua, tulua_plan):
    """Junk bodies from users without the right get 403 (not a 400 about the body); with it, a Spanish 400."""
    url = f"/api/v1/pot/plans/{tulua_plan.pk}/waivers/"
    junk = {"rule": 5, "zone_ids": "x", "reason": ["no"]}
    assert client.post(url, junk, content_type="application/json").status_code == 403  # anonymous
    for who in ("planner", "analyst", "other_planner"):
        client.force_login(pot_users[who])
        assert client.post(url, junk, content_type="application/json").status_code in (403, 404)
    client.force_login(pot_users["reviewer"])
    r = client.post(url, junk, content_type="application/json")
    assert r.status_code == 400 and r.json()["error"] == "invalid_parameter"
    r = client.post(url, {"rule": "coverage", "reason": "Sin zonas aún."}, content_type="application/json")
    assert r.status_code == 201  # an empty draft: coverage 0 % is a gate
    client.force_login(pot_users["analyst"])
    assert client.post(f"/api/v1/pot/plans/{tulua_plan.pk}/revision/").status_code == 403
    assert client.get("/api/v1/pot/review-queue/").status_code == 403
    client.force_login(pot_users["reviewer"])
    r = client.post(f"/api/v1/pot/plans/{tulua_plan.pk}/transition/", {"action": "return", "note": ["x"]},
                    content_type="application/json")
    assert r.status_code == 409  # a draft cannot be returned: refused before the note is read
