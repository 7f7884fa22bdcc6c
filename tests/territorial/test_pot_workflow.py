"""Workflow integrity: every plan write checks permission before parsing and again under the plan's row
lock (a save racing a submission never lands in the submitted plan), and what the public may read of a
plan (the approved zones and the approval note; never drafts, earlier versions or review threads)."""
import threading
import time

import pytest
from django.db import connection

from geosig.errors import ConflictError, NotFound, PermissionDeniedError
from territorial.pot.services import plans as P

from .test_pot_fixtures import cabecera_m, cali_plan, fc, lenient_rules, pot_users, square_feature  # noqa: F401

# lenient_rules: these tests are about the workflow, not the validation gates (test_pot_gates.py)
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("lenient_rules")]


def _squares(users, dx=0):
    x, y = cabecera_m(users["cali"])
    return fc(square_feature(x + dx, y, x + dx + 1000, y + 1000, "urbano", "centro"))


def _geometry_key(features):
    return sorted((f["properties"]["soil_class"], round(f["properties"]["area_m2"]),
                   tuple(round(c, 7) for c in f["geometry"]["coordinates"][0][0][0])) for f in features)


# ------------------------------------------------------------------ the race
def _race_once(users, plan_id):
    """One submission and one saver that spins on the version the plan will have after the submission
    (versions are consecutive, so a client can guess it; a second tab can also hold it). The saver
    reads the plan as the API does, then writes: under the old code its status check ran on the plan
    as read, outside the lock, so a submission committing in between let the save through."""
    from territorial.pot.models import Plan
    from territorial.pot.services import access

    planner = users["planner"]
    start = threading.Barrier(2)
    submitted = threading.Event()
    errors = []

    def submit():
        try:
            plan = Plan.objects.get(pk=plan_id)
            start.wait()
            time.sleep(0.002)  # let the saver get going
            P.transition(planner, plan, "enviar", 2)
        except Exception as exc:  # noqa: BLE001 — reported by the assertion below
            errors.append(exc)
        finally:
            submitted.set()
            connection.close()

    def save():
        try:
            start.wait()
            for _ in range(5000):
                done = submitted.is_set()
                plan = access.get_visible_plan(planner, plan_id)
                try:
                    P.save_zones(planner, plan, _squares(users, dx=3000), 3)
                    return
                except ConflictError:
                    if done:  # one last try after the submission committed
                        return
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=submit), threading.Thread(target=save)]
    [t.start() for t in threads]
    [t.join(60) for t in threads]
    assert not errors, errors


@pytest.mark.django_db(transaction=True)
def test_save_racing_a_submission_never_writes_into_the_submitted_plan(pot_users):
    from territorial.pot.models import Plan

    for i in range(12):
        plan = P.create_plan(pot_users["planner"], pot_users["cali"], f"Carrera {i}")
        P.save_zones(pot_users["planner"], plan, _squares(pot_users), 1)  # v2: what is submitted
        _race_once(pot_users, plan.pk)
        plan = Plan.objects.get(pk=plan.pk)
        actions = list(plan.versions.order_by("number").values_list("action", flat=True))
        assert plan.status == "enviada" and actions == ["crear", "guardar", "enviar"], (i, actions)
        sent = plan.versions.get(action="enviar").snapshot["features"]
        assert _geometry_key(P.snapshot(plan)["features"]) == _geometry_key(sent) != []
        assert plan.version == 3


# ------------------------------------------------------------------ permission before parsing, lock re-check
def test_permission_is_checked_before_any_parsing(pot_users, cali_plan, monkeypatch):
    """An outsider's merge/split/save/import never reaches the geometry code."""
    from territorial.pot.services import exchange

    def boom(*a, **k):
        raise AssertionError("parsed before the permission check")

    monkeypatch.setattr(P, "validate_features", boom)
    monkeypatch.setattr(P, "declared_crs", boom)
    monkeypatch.setattr(P.shapely, "union_all", boom)
    monkeypatch.setattr(exchange, "read_upload", boom)
    for who in ("other_planner", "reviewer", "analyst"):
        user = pot_users[who]
        with pytest.raises(PermissionDeniedError):
            P.save_zones(user, cali_plan, {"features": "not a list"}, 1)
        with pytest.raises(PermissionDeniedError):
            P.merge_zones(user, cali_plan, ["x", "y"], 1)
        with pytest.raises(PermissionDeniedError):
            P.split_zone(user, cali_plan, "abc", {"type": "junk"}, 1)
        with pytest.raises(PermissionDeniedError):
            exchange.import_plan(user, cali_plan, b"junk", "x.gpkg", "clase", 1)
        with pytest.raises(PermissionDeniedError):
            P.restore_version(user, cali_plan, 99, 1)
    assert cali_plan.versions.count() == 1


def test_lock_rechecks_the_stored_state(pot_users, cali_plan):
    """The plan object a request read may be stale: the check under the lock uses the stored row."""
    from territorial.pot.models import Plan, PlannerAssignment

    stale = Plan.objects.get(pk=cali_plan.pk)  # read while still a draft
    P.transition(pot_users["planner"], cali_plan, "enviar", 1)
    with pytest.raises(ConflictError, match="solo se edita en borrador"):
        with P.locked_plan(stale, pot_users["planner"], "guardar"):
            pass
    assert stale.status == "enviada"  # refreshed in place from the locked row
    # losing the municipality between reading and writing: the write is refused under the lock
    P.transition(pot_users["reviewer"], cali_plan, "devolver", 2, "Falta el suelo rural.")  # a return needs a reason
    stale = Plan.objects.get(pk=cali_plan.pk)
    planner = pot_users["planner"]
    P.require_action(planner, stale, "guardar")  # allowed when read…
    PlannerAssignment.objects.filter(user=planner).delete()
    with pytest.raises(PermissionDeniedError):  # …not any more when written
        P.save_zones(planner, stale, _squares(pot_users), 3)
    assert stale.versions.count() == 3 and stale.zones.count() == 0


def test_delete_only_never_submitted_drafts(client, pot_users, cali_plan):
    from territorial.pot.models import Plan

    url = f"/api/v1/pot/plans/{cali_plan.pk}/"
    for who in ("other_planner", "reviewer", "analyst"):
        client.force_login(pot_users[who])
        assert client.delete(url).status_code in (403, 404)
    client.force_login(pot_users["planner"])
    P.transition(pot_users["planner"], cali_plan, "enviar", 1)
    r = client.delete(url)
    assert r.status_code == 409 and Plan.objects.filter(pk=cali_plan.pk).exists()
    draft = P.create_plan(pot_users["planner"], pot_users["cali"], "Borrador")
    assert client.delete(f"/api/v1/pot/plans/{draft.pk}/").status_code == 204
    assert not Plan.objects.filter(pk=draft.pk).exists()
    with pytest.raises(NotFound):
        with P.locked_plan(draft.pk, pot_users["planner"], "eliminar"):
            pass


def test_transition_and_comment_bodies_are_not_parsed_for_outsiders(client, pot_users, cali_plan):
    client.force_login(pot_users["other_planner"])
    cali_plan.status = "aprobada"  # visible to everyone, writable by nobody outside
    cali_plan.save()
    for suffix in ("transition/", "comments/", "merge/", "split/", "versions/1/restore/"):
        r = client.post(f"/api/v1/pot/plans/{cali_plan.pk}/{suffix}", "{not json", content_type="application/json")
        assert r.status_code == 403, (suffix, r.status_code, r.content[:200])


# ------------------------------------------------------------------ what the public reads of a plan
def _approved(users, plan):
    """Draft v2 (two zones), v3 (one zone), a review thread, approval with a note."""
    x, y = cabecera_m(users["cali"])
    P.save_zones(users["planner"], plan, fc(square_feature(x, y, x + 1000, y + 1000, "urbano"),
                                            square_feature(x, y + 1000, x + 1000, y + 2000, "rural")), 1)
    P.save_zones(users["planner"], plan, fc(square_feature(x, y, x + 500, y + 1000, "urbano")), 2)
    P.transition(users["planner"], plan, "enviar", 3)
    P.transition(users["reviewer"], plan, "iniciar_revision", 4)
    cab = users["cali"].cabecera
    c = P.add_comment(users["reviewer"], plan, "Nota interna: revisar la ronda", cab.x, cab.y)
    P.add_comment(users["planner"], plan, "Respuesta interna", parent_id=c.pk)
    P.transition(users["reviewer"], plan, "aprobar", 5, note="Aprobado con la Resolución 0100-123")
    plan.refresh_from_db()
    assert plan.version == 6
    return plan


@pytest.mark.parametrize("who", ["anonymous", "other_planner"])
def test_public_sees_only_the_approved_version(client, pot_users, cali_plan, who):
    plan = _approved(pot_users, cali_plan)
    if who != "anonymous":
        client.force_login(pot_users[who])
    base = f"/api/v1/pot/plans/{plan.pk}/"
    d = client.get(base).json()
    assert d["comments"] == [] and d["internal"] is False
    assert d["approval"] == {"version": 6, "approved_at": d["approval"]["approved_at"], "approved_by": "revisor",
                             "note": "Aprobado con la Resolución 0100-123"}
    assert [round(f["properties"]["area_m2"]) for f in d["zones"]["features"]] == [500_000]
    versions = client.get(base + "versions/").json()["versions"]
    assert [v["number"] for v in versions] == [6] and versions[0]["action"] == "aprobar"
    assert client.get(base + "versions/6/").status_code == 200
    for n in (1, 2, 3, 5):
        r = client.get(base + f"versions/{n}/")
        assert r.status_code == 404 and "no es pública" in r.json()["detail"]
    assert client.get(base + "comments/").status_code == 403
    page = client.get(f"/pot/planes/{plan.pk}/").content.decode()
    assert "Nota interna" not in page and "Resolución 0100-123" in page


@pytest.mark.parametrize("who", ["planner", "reviewer2", "analyst"])
def test_insiders_still_see_history_and_threads(client, pot_users, cali_plan, who):
    plan = _approved(pot_users, cali_plan)
    client.force_login(pot_users[who])
    base = f"/api/v1/pot/plans/{plan.pk}/"
    d = client.get(base).json()
    assert d["internal"] is True and [c["text"] for c in d["comments"]] == [
        "Nota interna: revisar la ronda", "Respuesta interna"]
    assert [v["number"] for v in client.get(base + "versions/").json()["versions"]] == [6, 5, 4, 3, 2, 1]
    assert len(client.get(base + "versions/2/").json()["snapshot"]["features"]) == 2
    assert len(client.get(base + "comments/").json()["comments"]) == 2


def test_unapproved_plan_has_no_public_version(pot_users, cali_plan):
    assert list(P.approval_versions(cali_plan)) == [] and P.approval(cali_plan) is None
