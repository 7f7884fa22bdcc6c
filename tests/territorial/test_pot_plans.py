"""Plans: validation of every save (bad input → clear error, nothing changed), versions and restore,
optimistic locking, workflow transitions and permissions for every role × action, comments, visibility."""
import threading

import pytest
from django.db import connection

from geosig.errors import (
    ConflictError, CRSMismatch, InvalidGeometry, InvalidParameter, OutsideValle, PermissionDeniedError,
)
from territorial.pot.services import plans as P

from .test_pot_fixtures import cabecera_m, cali_plan, fc, lenient_rules, pot_users, square_feature  # noqa: F401

# lenient_rules: these tests are about the workflow, not the validation gates (test_pot_gates.py)
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("lenient_rules")]


def _two_squares(users):
    x, y = cabecera_m(users["cali"])
    return x, y, fc(square_feature(x, y, x + 1000, y + 1000, "urbano", "centro"),
                    square_feature(x, y + 1000, x + 1000, y + 2000, "expansion_urbana", "norte"))


def _state(plan):
    plan.refresh_from_db()
    return plan.version, sorted((z.soil_class, round(z.area_m2)) for z in plan.zones.all()), plan.versions.count()


# ------------------------------------------------------------------ saving and validation
def test_save_creates_zones_version_and_summary(pot_users, cali_plan):
    _, _, data = _two_squares(pot_users)
    res = P.save_zones(pot_users["planner"], cali_plan, data, 1)
    assert res.version == 2
    assert sorted(round(z.area_m2) for z in cali_plan.zones.all()) == [1_000_000, 1_000_000]
    v = cali_plan.versions.get(number=2)
    assert v.author == pot_users["planner"] and v.action == "guardar"
    assert "2 zona(s) nueva(s)" in v.summary and len(v.snapshot["features"]) == 2
    assert res.warnings == []  # both squares lie inside Cali, no overlap


BOWTIE = {"type": "Polygon", "coordinates": [[[-76.53, 3.44], [-76.52, 3.45], [-76.52, 3.44], [-76.53, 3.45], [-76.53, 3.44]]]}
ZERO = {"type": "Polygon", "coordinates": [[[-76.53, 3.44], [-76.52, 3.45], [-76.51, 3.46], [-76.53, 3.44]]]}
OVERLAPPING_PARTS = {"type": "MultiPolygon", "coordinates": [
    [[[-76.53, 3.44], [-76.52, 3.44], [-76.52, 3.45], [-76.53, 3.45], [-76.53, 3.44]]],
    [[[-76.525, 3.445], [-76.515, 3.445], [-76.515, 3.455], [-76.525, 3.455], [-76.525, 3.445]]]]}
IN_METRES = {"type": "Polygon", "coordinates": [[[4_600_000, 1_950_000], [4_601_000, 1_950_000], [4_601_000, 1_951_000], [4_600_000, 1_950_000]]]}
CARTAGO = {"type": "Polygon", "coordinates": [[[-75.92, 4.74], [-75.91, 4.74], [-75.91, 4.75], [-75.92, 4.75], [-75.92, 4.74]]]}
BOGOTA = {"type": "Polygon", "coordinates": [[[-74.08, 4.6], [-74.07, 4.6], [-74.07, 4.61], [-74.08, 4.61], [-74.08, 4.6]]]}
TINY = {"type": "Polygon", "coordinates": [[[-76.53, 3.44], [-76.52995, 3.44], [-76.52995, 3.44005], [-76.53, 3.44005], [-76.53, 3.44]]]}  # ~5.5 m × 5.5 m


@pytest.mark.parametrize("geometry, props, error, text", [
    (BOWTIE, {}, InvalidGeometry, "se cruza a sí mismo"),
    (ZERO, {}, InvalidGeometry, "área cero"),
    (OVERLAPPING_PARTS, {}, InvalidGeometry, "partes del multipolígono se superponen"),
    (IN_METRES, {}, CRSMismatch, "no son longitud/latitud"),
    (CARTAGO, {}, OutsideValle, "km del municipio Cali"),
    (BOGOTA, {}, OutsideValle, "fuera del Valle"),
    (TINY, {}, InvalidGeometry, "menor que el mínimo"),
    ({"type": "LineString", "coordinates": [[-76.53, 3.44], [-76.52, 3.45]]}, {}, InvalidGeometry, "polígono"),
    (BOWTIE, {"soil_class": "industrial"}, InvalidParameter, "urbano, expansion_urbana, suburbano, rural, proteccion"),
])
def test_bad_geometry_is_refused_and_nothing_changes(pot_users, cali_plan, geometry, props, error, text):
    _, _, data = _two_squares(pot_users)
    P.save_zones(pot_users["planner"], cali_plan, data, 1)
    before = _state(cali_plan)
    bad = {"type": "Feature", "geometry": geometry, "properties": dict({"soil_class": "rural"}, **props)}
    if props.get("soil_class") == "industrial":
        bad["geometry"] = data["features"][0]["geometry"]
    with pytest.raises(error, match=text):
        P.save_zones(pot_users["planner"], cali_plan, fc(*data["features"], bad), cali_plan.version)
    assert _state(cali_plan) == before


def test_declared_crs_is_reprojected(pot_users, cali_plan):
    x, y = cabecera_m(pot_users["cali"])
    data = {"type": "FeatureCollection", "crs": {"type": "name", "properties": {"name": "EPSG:9377"}},
            "features": [{"type": "Feature", "properties": {"soil_class": "urbano"}, "geometry": {
                "type": "Polygon", "coordinates": [[[x, y], [x + 500, y], [x + 500, y + 400], [x, y + 400], [x, y]]]}}]}
    P.save_zones(pot_users["planner"], cali_plan, data, 1)
    assert cali_plan.zones.get().area_m2 == pytest.approx(200_000, abs=0.5)


def test_overlap_is_refused_unless_fit_removes_it(pot_users, cali_plan):
    """Issue #9: an overlap between zones of the plan is an error (was a warning); «fit» (the default)
    clips the new zone under the one already there, and says how much it cut."""
    from territorial.pot.services.plans import ValidationRefused

    x, y = cabecera_m(pot_users["cali"])
    a, b = square_feature(x, y, x + 1000, y + 1000, "urbano"), square_feature(x + 700, y, x + 1700, y + 1000, "rural")
    with pytest.raises(ValidationRefused) as exc:
        P.save_zones(pot_users["planner"], cali_plan, fc(a, b), 1, fit=False)
    overlap = [f for f in exc.value.details["findings"] if f["rule"] == "overlap"]
    assert overlap[0]["severity"] == "error" and overlap[0]["figures"]["value"] == pytest.approx(300_000, abs=1)
    assert cali_plan.zones.count() == 0 and cali_plan.versions.count() == 1  # nothing written
    res = P.save_zones(pot_users["planner"], cali_plan, fc(a), 1)
    first = cali_plan.zones.get()
    res = P.save_zones(pot_users["planner"], cali_plan, fc(dict(a, id=first.pk), b), res.version)
    assert [c["overlap_m2"] for c in res.clipped] == [pytest.approx(300_000, rel=1e-5)]  # stored zone: 1 cm grid
    areas = sorted(z.area_m2 for z in cali_plan.zones.all())
    # the existing zone kept its area; the new one lost the overlap (against the stored, 1 cm-grid zone)
    assert areas == [pytest.approx(700_000, rel=1e-5), pytest.approx(1_000_000, abs=0.5)]
    assert not [f for f in res.findings if f["rule"] == "overlap"]


# ------------------------------------------------------------------ versions, restore, locking
def test_versions_and_restore(pot_users, cali_plan):
    x, y, data = _two_squares(pot_users)
    P.save_zones(pot_users["planner"], cali_plan, data, 1)  # v2: two zones
    cali_plan.refresh_from_db()
    keep = cali_plan.zones.order_by("id").first()
    one = P.snapshot(cali_plan)
    one["features"] = [f for f in one["features"] if f["id"] == keep.pk]
    one["features"][0]["properties"]["soil_class"] = "suburbano"
    res = P.save_zones(pot_users["planner"], cali_plan, one, 2)  # v3: one zone, reclassified
    assert "1 eliminada" in res.summary and "clase de suelo" in res.summary
    assert cali_plan.zones.count() == 1
    res = P.restore_version(pot_users["planner"], cali_plan, 2, 3)  # v4 = content of v2
    assert res.version == 4 and "Restaurada la versión 2" in res.summary
    v2 = cali_plan.versions.get(number=2).snapshot
    now = P.snapshot(cali_plan)
    assert sorted((f["properties"]["soil_class"], f["properties"]["area_m2"]) for f in now["features"]) == \
        sorted((f["properties"]["soil_class"], f["properties"]["area_m2"]) for f in v2["features"])
    assert [v.number for v in cali_plan.versions.all()] == [4, 3, 2, 1]


def test_stale_version_gets_conflict_and_changes_nothing(pot_users, cali_plan):
    _, _, data = _two_squares(pot_users)
    P.save_zones(pot_users["planner"], cali_plan, data, 1)
    before = _state(cali_plan)
    with pytest.raises(ConflictError, match="versión 1 y la actual es la 2"):
        P.save_zones(pot_users["planner"], cali_plan, fc(data["features"][0]), 1)
    assert _state(cali_plan) == before


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_saves_one_wins(pot_users, cali_plan):
    """Two threads save from the same version at the same moment: one commits, the other gets 409."""
    x, y = cabecera_m(pot_users["cali"])
    barrier = threading.Barrier(2)
    results = []

    def worker(offset):
        from territorial.pot.models import Plan

        try:
            plan = Plan.objects.get(pk=cali_plan.pk)
            barrier.wait()
            r = P.save_zones(pot_users["planner"], plan, fc(square_feature(x + offset, y, x + offset + 800, y + 800)), 1)
            results.append(("ok", r.version))
        except ConflictError as exc:
            results.append(("conflict", exc.status))
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(o,)) for o in (0, 2000)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert sorted(results) == [("conflict", 409), ("ok", 2)]
    cali_plan.refresh_from_db()
    assert cali_plan.version == 2 and cali_plan.zones.count() == 1 and cali_plan.versions.count() == 2


def test_api_returns_409_json(client, pot_users, cali_plan):
    _, _, data = _two_squares(pot_users)
    client.force_login(pot_users["planner"])
    url = f"/api/v1/pot/plans/{cali_plan.pk}/zones/"
    r = client.put(url, dict(data, version=1), content_type="application/json")
    assert r.status_code == 200 and r.json()["result"]["version"] == 2
    r = client.put(url, dict(data, version=1), content_type="application/json")
    assert r.status_code == 409 and r.json()["error"] == "conflict"
    r = client.put(url, dict(fc(dict(data["features"][0], geometry=BOWTIE)), version=2), content_type="application/json")
    assert r.status_code == 422 and "se cruza a sí mismo" in r.json()["detail"]


# ------------------------------------------------------------------ permissions × actions
def _user(users, role):
    return None if role == "anonymous" else users[role]


@pytest.mark.parametrize("role, allowed", [
    ("planner", True), ("other_planner", False), ("reviewer", False), ("analyst", False), ("anonymous", False)])
def test_edit_permission_by_role(pot_users, cali_plan, role, allowed):
    _, _, data = _two_squares(pot_users)
    if allowed:
        assert P.save_zones(_user(pot_users, role), cali_plan, data, 1).version == 2
    else:
        with pytest.raises(PermissionDeniedError):
            P.save_zones(_user(pot_users, role), cali_plan, data, 1)
        assert _state(cali_plan)[0] == 1


@pytest.mark.parametrize("role, allowed", [
    ("planner", True), ("other_planner", False), ("reviewer", False), ("analyst", False), ("anonymous", False)])
def test_create_plan_by_role(pot_users, role, allowed):
    if allowed:
        assert P.create_plan(_user(pot_users, role), pot_users["cali"], "x").version == 1
    else:
        with pytest.raises(PermissionDeniedError):
            P.create_plan(_user(pot_users, role), pot_users["cali"], "x")


# (action, status the plan is put in first, role) → expected: "ok", 403 or 409
WORKFLOW = [
    ("enviar", "borrador", "planner", "ok"), ("enviar", "devuelta", "planner", "ok"),
    ("enviar", "borrador", "other_planner", 403), ("enviar", "borrador", "reviewer", 403),
    ("enviar", "borrador", "analyst", 403), ("enviar", "borrador", "anonymous", 403),
    ("enviar", "en_revision", "planner", 409), ("enviar", "aprobada", "planner", 409),
    ("iniciar_revision", "enviada", "reviewer", "ok"), ("iniciar_revision", "enviada", "planner", 403),
    ("iniciar_revision", "enviada", "analyst", 403), ("iniciar_revision", "enviada", "anonymous", 403),
    ("iniciar_revision", "borrador", "reviewer", 409),
    ("aprobar", "en_revision", "reviewer", "ok"), ("aprobar", "en_revision", "planner", 403),
    ("aprobar", "en_revision", "analyst", 403), ("aprobar", "en_revision", "anonymous", 403),
    ("aprobar", "enviada", "reviewer", 409), ("aprobar", "borrador", "reviewer", 409),
    ("devolver", "en_revision", "reviewer", "ok"), ("devolver", "enviada", "reviewer", "ok"),
    ("devolver", "en_revision", "planner", 403), ("devolver", "en_revision", "analyst", 403),
    ("devolver", "aprobada", "reviewer", 409),
]


@pytest.mark.parametrize("action, status, role, expected", WORKFLOW)
def test_workflow_matrix(pot_users, cali_plan, action, status, role, expected):
    cali_plan.status = status
    cali_plan.save()
    user = _user(pot_users, role)
    if expected == "ok":
        P.transition(user, cali_plan, action, cali_plan.version, "Motivo" if action == "devolver" else "")
        cali_plan.refresh_from_db()
        assert cali_plan.status == P.TRANSITIONS[action].target
        assert cali_plan.versions.get(number=cali_plan.version).action == action
    else:
        with pytest.raises(PermissionDeniedError if expected == 403 else ConflictError):
            P.transition(user, cali_plan, action, cali_plan.version)
        cali_plan.refresh_from_db()
        assert cali_plan.status == status and cali_plan.version == 1


def test_reviewer_cannot_approve_own_plan(pot_users, cali_plan):
    from territorial.pot.models import PlannerAssignment

    reviewer = pot_users["reviewer"]
    reviewer.groups.add(*pot_users["planner"].groups.all())  # also a planner of Cali
    reviewer.__dict__.pop("_pot_roles", None)  # roles are cached per user object
    PlannerAssignment.objects.create(user=reviewer, municipality=pot_users["cali"])
    _, _, data = _two_squares(pot_users)
    P.save_zones(reviewer, cali_plan, data, 1)
    P.transition(pot_users["planner"], cali_plan, "enviar", 2)
    P.transition(pot_users["reviewer2"], cali_plan, "iniciar_revision", 3)
    with pytest.raises(PermissionDeniedError, match="usted mismo"):
        P.transition(reviewer, cali_plan, "aprobar", 4)
    cali_plan.refresh_from_db()
    assert cali_plan.status == "en_revision"
    P.transition(pot_users["reviewer2"], cali_plan, "aprobar", 4)
    cali_plan.refresh_from_db()
    assert cali_plan.status == "aprobada"


def test_submitted_plan_is_read_only(pot_users, cali_plan):
    _, _, data = _two_squares(pot_users)
    P.transition(pot_users["planner"], cali_plan, "enviar", 1)
    with pytest.raises(ConflictError, match="solo se edita en borrador o devuelto"):
        P.save_zones(pot_users["planner"], cali_plan, data, 2)


# ------------------------------------------------------------------ comments and visibility
def test_comments_pinned_and_threaded(pot_users, cali_plan):
    cab = pot_users["cali"].cabecera
    c = P.add_comment(pot_users["reviewer"], cali_plan, "Revisar la ronda del río Cali", cab.x, cab.y)
    assert c.point.x == pytest.approx(cab.x) and c.plan_version == 1
    r = P.add_comment(pot_users["planner"], cali_plan, "Ajustado en la versión 3", parent_id=c.pk)
    assert r.parent_id == c.pk and r.point is None
    with pytest.raises(PermissionDeniedError):  # planners answer, reviewers open threads
        P.add_comment(pot_users["planner"], cali_plan, "nuevo", cab.x, cab.y)
    for role in ("analyst", "other_planner", "anonymous"):
        with pytest.raises(PermissionDeniedError):
            P.add_comment(_user(pot_users, role), cali_plan, "hola", cab.x, cab.y)
    with pytest.raises(InvalidParameter, match="punto"):
        P.add_comment(pot_users["reviewer"], cali_plan, "sin punto")
    with pytest.raises(InvalidParameter, match="lejos"):
        P.add_comment(pot_users["reviewer"], cali_plan, "lejos", -75.9, 4.75)
    assert cali_plan.comments.count() == 2


def test_visibility_by_role(client, pot_users, cali_plan):
    from territorial.pot.models import Plan

    approved = Plan.objects.create(municipality=pot_users["jamundi"], name="Aprobado", status="aprobada")
    ids = lambda: {p["id"] for p in client.get("/api/v1/pot/plans/").json()["plans"]}  # noqa: E731
    assert ids() == {approved.pk}  # anonymous: published only
    assert client.get(f"/api/v1/pot/plans/{cali_plan.pk}/").status_code == 404
    assert client.get(f"/pot/planes/{cali_plan.pk}/").status_code == 404
    client.force_login(pot_users["other_planner"])
    assert ids() == {approved.pk}
    client.force_login(pot_users["planner"])
    assert ids() == {approved.pk, cali_plan.pk}
    client.force_login(pot_users["analyst"])
    assert ids() == {approved.pk, cali_plan.pk}
    r = client.put(f"/api/v1/pot/plans/{cali_plan.pk}/zones/", {"version": 1, "features": []},
                   content_type="application/json")
    assert r.status_code == 403 and r.json()["error"] == "permission_denied"


def test_merge_and_split(pot_users, cali_plan):
    x, y, data = _two_squares(pot_users)
    P.save_zones(pot_users["planner"], cali_plan, data, 1)
    ids = list(cali_plan.zones.order_by("id").values_list("id", flat=True))
    P.merge_zones(pot_users["planner"], cali_plan, ids, 2)
    z = cali_plan.zones.get()
    assert z.area_m2 == pytest.approx(2_000_000, abs=1) and z.soil_class == "urbano"
    from .test_pot_fixtures import to_4326
    from shapely.geometry import LineString, mapping

    line = mapping(to_4326(LineString([(x - 100, y + 500), (x + 1100, y + 500)])))
    P.split_zone(pot_users["planner"], cali_plan, z.pk, line, 3)
    assert sorted(round(a) for a in cali_plan.zones.values_list("area_m2", flat=True)) == [500_000, 1_500_000]
    with pytest.raises(InvalidParameter, match="no la divide"):
        far = mapping(to_4326(LineString([(x + 5000, y), (x + 6000, y)])))
        P.split_zone(pot_users["planner"], cali_plan, cali_plan.zones.first().pk, far, 4)


def test_cvc_staff_edit_the_matrix_in_the_admin(client, pot_users):
    """The roles migration gives «Revisor CVC» change rights on the matrix; «Analista» only view rights."""
    import importlib

    from django.apps import apps as django_apps

    from territorial.pot.models import Determinant, DeterminantRule

    from django.contrib.auth.management import create_permissions

    # a transactional test earlier in the session may have flushed the migration's data: seed it again
    create_permissions(django_apps.get_app_config("territorial"), verbosity=0)
    importlib.import_module("territorial.migrations.0004_pot_roles_determinants").seed(django_apps)
    rule = DeterminantRule.objects.get(determinant=Determinant.objects.get(code="paramo"), soil_class="rural")
    url = f"/admin/territorial/determinantrule/{rule.pk}/change/"
    analyst = pot_users["analyst"]
    analyst.is_staff = True
    analyst.save()
    client.force_login(analyst)
    assert client.get(url).status_code == 200  # may look
    client.post(url, {"determinant": rule.determinant_id, "soil_class": "rural", "verdict": "incompatible", "note": ""})
    rule.refresh_from_db()
    assert rule.verdict == "condicionado"
    reviewer = pot_users["reviewer"]
    reviewer.is_staff = True
    reviewer.save()
    client.force_login(reviewer)
    r = client.post(url, {"determinant": rule.determinant_id, "soil_class": "rural", "verdict": "incompatible",
                          "note": "Ley 1930 de 2018"})
    assert r.status_code == 302
    rule.refresh_from_db()
    assert rule.verdict == "incompatible" and rule.note == "Ley 1930 de 2018"


# ------------------------------------------------------------------ review fixes: ids, NaN, JSON bodies, admin
def test_merge_with_repeated_ids_never_deletes_zones(pot_users, cali_plan):
    _, _, data = _two_squares(pot_users)
    P.save_zones(pot_users["planner"], cali_plan, data, 1)
    a, b = cali_plan.zones.order_by("id").values_list("id", flat=True)
    before = _state(cali_plan)
    with pytest.raises(InvalidParameter, match="al menos dos zonas"):  # one distinct zone: nothing to merge
        P.merge_zones(pot_users["planner"], cali_plan, [a, a], 2)
    assert _state(cali_plan) == before
    for junk in (["x", a], [a, None], "12"):
        with pytest.raises(InvalidParameter):
            P.merge_zones(pot_users["planner"], cali_plan, junk, 2)
    assert _state(cali_plan) == before
    # [a, a, b] is the merge of a and b: one zone of 2 km², not an empty plan
    P.merge_zones(pot_users["planner"], cali_plan, [a, a, b], 2)
    assert [(z.pk, round(z.area_m2)) for z in cali_plan.zones.all()] == [(a, 2_000_000)]
    assert "#%d, #%d:" % (a, b) in cali_plan.versions.get(number=3).summary


def test_split_and_reply_with_non_integer_ids_are_400(pot_users, cali_plan):
    _, _, data = _two_squares(pot_users)
    P.save_zones(pot_users["planner"], cali_plan, data, 1)
    before = _state(cali_plan)
    line = {"type": "LineString", "coordinates": [[-76.6, 3.4], [-76.4, 3.5]]}
    with pytest.raises(InvalidParameter, match="«zone_id» debe ser un número entero"):
        P.split_zone(pot_users["planner"], cali_plan, "abc", line, 2)
    assert _state(cali_plan) == before
    with pytest.raises(InvalidParameter, match="«parent» debe ser un número entero"):
        P.add_comment(pot_users["planner"], cali_plan, "respuesta", parent_id="abc")
    assert cali_plan.comments.count() == 0


@pytest.mark.parametrize("lon, lat", [(float("nan"), 3.45), ("nan", "3.45"), (-76.5, float("nan")),
                                      (float("inf"), 3.45)])
def test_comment_point_must_be_finite(pot_users, cali_plan, lon, lat):
    with pytest.raises(InvalidParameter, match="necesita un punto"):
        P.add_comment(pot_users["reviewer"], cali_plan, "sin lugar", lon, lat)
    assert cali_plan.comments.count() == 0


@pytest.mark.parametrize("suffix", ["", "merge/", "split/", "transition/", "comments/", "versions/1/restore/"])
def test_json_list_body_is_400_not_500(client, pot_users, cali_plan, suffix):
    client.force_login(pot_users["planner"])
    url = "/api/v1/pot/plans/" + (f"{cali_plan.pk}/{suffix}" if suffix else "")
    r = client.post(url, [1, 2], content_type="application/json")
    assert r.status_code == 400 and r.json()["error"] == "invalid_parameter"
    assert "objeto JSON" in r.json()["detail"]
    assert _state(cali_plan) == (1, [], 1)


def test_admin_cannot_bypass_zone_validation_or_workflow(client, pot_users, cali_plan, django_user_model):
    _, _, data = _two_squares(pot_users)
    P.save_zones(pot_users["planner"], cali_plan, data, 1)
    zone = cali_plan.zones.order_by("id").first()
    admin = django_user_model.objects.create_superuser("jefa", "jefa@example.org", None)
    client.force_login(admin)
    assert client.get(f"/admin/territorial/zone/{zone.pk}/change/").status_code == 200  # may look
    r = client.post(f"/admin/territorial/zone/{zone.pk}/change/", {
        "plan": cali_plan.pk, "soil_class": "rural", "use_category": "", "name": "", "notes": "",
        "geom": '{"type": "Polygon", "coordinates": [[[-74.08, 4.6], [-74.07, 4.6], [-74.07, 4.61], [-74.08, 4.6]]]}'})
    assert r.status_code == 403
    assert client.post(f"/admin/territorial/zone/{zone.pk}/delete/", {"post": "yes"}).status_code == 403
    assert client.get("/admin/territorial/zone/add/").status_code == 403
    zone.refresh_from_db()
    assert zone.soil_class == "urbano" and round(zone.area_m2) == 1_000_000
    r = client.post(f"/admin/territorial/plan/{cali_plan.pk}/change/", {
        "municipality": cali_plan.municipality_id, "name": "Renombrado", "status": "aprobada", "source": "",
        "version": 99, "created_by": "", "submitted_by": "", "reviewed_by": ""})
    assert r.status_code == 302, r.content[:2000]
    cali_plan.refresh_from_db()
    assert (cali_plan.name, cali_plan.status, cali_plan.version) == ("Renombrado", "borrador", 2)
