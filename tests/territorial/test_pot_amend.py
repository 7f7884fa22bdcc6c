"""Issue #9, item 3: the amend cycle. «Modificar» the current approved plan creates a draft with its zones
that replaces it; approving the revision marks the old plan «reemplazada» (links both ways) and leaves
exactly one current approved plan per municipality (service under row locks + a partial unique
constraint); the conflict analysis, its reports and the loaders use and name the current plan."""
import csv
import io

import pytest
import shapely
from django.db import IntegrityError, transaction
from shapely.geometry import box

from geosig.errors import ConflictError
from territorial.pot.services import plans as P
from territorial.pot.services.conflicts import analyse_conflicts

from .test_pot_fixtures import fc, pot_users, to_4326  # noqa: F401
from .test_pot_gates import TULUA, feature, muni_m, tulua  # noqa: F401

pytestmark = pytest.mark.django_db


@pytest.fixture
def approved(pot_users, tulua):
    """Tuluá's current plan as the loaders leave it: approved, zoning the whole municipality (two zones)."""
    from territorial.pot.models import Plan

    m = muni_m(tulua)
    c = m.centroid
    urban = box(c.x - 1500, c.y - 1500, c.x + 1500, c.y + 1500)
    plan = Plan.objects.create(municipality=tulua, name="Plan DEMO — Tuluá", is_demo=True)
    P.system_replace_zones(plan, fc(feature(to_4326(urban), "urbano", "cabecera"),
                                    feature(to_4326(m.difference(urban)), "rural", "resto")), "generar_demo")
    P.retire_for_loader(plan)
    plan.refresh_from_db()
    assert plan.status == "aprobada"
    return plan


def _approved_in(muni):
    from territorial.pot.models import Plan

    return list(Plan.objects.filter(municipality=muni, status="aprobada"))


def test_amend_cycle_leaves_one_current_plan_and_links_both_ways(client, pot_users, tulua, approved):
    planner, reviewer = pot_users["planner"], pot_users["reviewer"]
    client.force_login(planner)
    detail = client.get(f"/api/v1/pot/plans/{approved.pk}/").json()
    assert detail["current"] is True and detail["replaces"] is None and detail["replaced_by"] is None
    assert [a["action"] for a in detail["actions"]] == ["revise"]
    r = client.post(f"/api/v1/pot/plans/{approved.pk}/revision/")
    assert r.status_code == 201, r.json()
    new_id = r.json()["id"]
    from territorial.pot.models import Plan

    new = Plan.objects.get(pk=new_id)
    assert new.status == "borrador" and new.replaces_id == approved.pk and new.created_by == planner
    # the zones are copied (same classes and geometries), the old plan keeps its own
    def key(plan):
        return sorted((z.soil_class, z.name, round(z.area_m2, 3)) for z in plan.zones.all())
    assert key(new) == key(approved) and approved.zones.count() == 2
    # a second revision while one is open is refused (409 naming it); the old plan offers no «revise» now
    r = client.post(f"/api/v1/pot/plans/{approved.pk}/revision/")
    assert r.status_code == 409 and str(new_id) in r.json()["detail"]
    assert client.get(f"/api/v1/pot/plans/{approved.pk}/").json()["actions"] == []
    # the planner amends a zone's class, submits; the CVC reviews and approves
    zones = P.snapshot(new)
    zones["features"][0]["properties"]["soil_class"] = "expansion_urbana"
    res = P.save_zones(planner, new, zones, new.version)
    assert res.state == "clean", res.findings
    new.refresh_from_db()
    P.transition(planner, new, "enviar", new.version)
    P.transition(reviewer, new, "iniciar_revision", new.version)
    P.transition(reviewer, new, "aprobar", new.version, "Modificación excepcional aprobada.")
    new.refresh_from_db()
    approved.refresh_from_db()
    assert new.status == "aprobada" and approved.status == "reemplazada"
    assert approved.replaced_by_id == new.pk and new.replaces_id == approved.pk
    assert _approved_in(tulua) == [new]
    old_record = approved.versions.get(action="reemplazar")
    assert old_record.changes["replaced_by"] == new.pk and old_record.author == reviewer
    assert f"Reemplaza al plan {approved.pk}" in new.versions.get(action="aprobar").summary
    # the API says it both ways; the public sees both, the old one marked
    client.logout()
    old = client.get(f"/api/v1/pot/plans/{approved.pk}/").json()
    assert old["status"] == "reemplazada" and old["current"] is False and old["replaced_by"] == new.pk
    cur = client.get(f"/api/v1/pot/plans/{new.pk}/").json()
    assert cur["current"] is True and cur["replaces"] == approved.pk
    # the conflict analysis of the municipality uses the current plan and names it with its version
    report = analyse_conflicts(None, municipality=TULUA, modes=["internal"])
    assert [(p["id"], p["version"], p["status"]) for p in report.plans] == [(new.pk, new.version, "aprobada")]


def test_approving_a_second_plan_replaces_the_current_one_even_without_revise(pot_users, tulua, approved):
    """«Nuevo plan» from scratch, approved: the previous approved plan is replaced all the same."""
    from territorial.pot.models import PotRulesSettings

    PotRulesSettings(coverage_min_pct=0.0).save()
    m = muni_m(tulua)
    c = m.centroid
    fresh = P.create_plan(pot_users["planner"], tulua, "POT nuevo")
    P.save_zones(pot_users["planner"], fresh, fc(feature(to_4326(box(c.x, c.y, c.x + 900, c.y + 900)))), 1)
    for user, action in ((pot_users["planner"], "enviar"), (pot_users["reviewer"], "iniciar_revision"),
                         (pot_users["reviewer"], "aprobar")):
        P.transition(user, fresh, action, fresh.version)
    approved.refresh_from_db()
    fresh.refresh_from_db()
    assert approved.status == "reemplazada" and approved.replaced_by_id == fresh.pk and fresh.replaces_id == approved.pk
    assert _approved_in(tulua) == [fresh]


def test_the_database_refuses_a_second_approved_plan(pot_users, tulua, approved):
    from territorial.pot.models import Plan

    with pytest.raises(IntegrityError), transaction.atomic():
        Plan.objects.create(municipality=tulua, name="Otro aprobado", status="aprobada")
    Plan.objects.create(municipality=tulua, name="Reemplazado", status="reemplazada")  # any number of these


def test_only_the_planner_of_the_municipality_revises_only_the_current_plan(client, pot_users, tulua, approved):
    client.force_login(pot_users["other_planner"])  # Jamundí's planner
    assert client.post(f"/api/v1/pot/plans/{approved.pk}/revision/").status_code == 403
    client.force_login(pot_users["reviewer"])
    assert client.post(f"/api/v1/pot/plans/{approved.pk}/revision/").status_code == 403
    draft = P.create_plan(pot_users["planner"], tulua, "Borrador")
    with pytest.raises(ConflictError, match="solo se modifica el plan aprobado vigente"):
        P.revise_plan(pot_users["planner"], draft)


def test_conflict_reports_name_plans_and_versions(client, pot_users, tulua, approved):
    client.force_login(pot_users["analyst"])
    r = client.get("/api/v1/pot/conflicts/", {"municipality": TULUA, "modes": "internal"})
    body = r.json()
    assert body["plans"] == [{"id": approved.pk, "name": "Plan DEMO — Tuluá", "municipality": TULUA,
                              "municipality_name": tulua.name, "status": "aprobada", "status_label": "Aprobada",
                              "current": True, "is_demo": True, "source": "", "version": approved.version}]
    assert f"«Plan DEMO — Tuluá» versión {approved.version} (Aprobada)" in body["analysed"]
    r = client.get("/api/v1/pot/conflicts/", {"municipality": TULUA, "modes": "internal", "format": "csv"})
    rows = list(csv.DictReader(io.StringIO(r.content.decode())))
    assert rows[0]["kind"] == "plan_analizado" and rows[0]["plan_id"] == str(approved.pk)
    assert rows[0]["plan_version"] == str(approved.version)
    r = client.get("/api/v1/pot/conflicts/", {"municipality": TULUA, "modes": "internal", "format": "html"})
    assert f"«Plan DEMO — Tuluá» versión {approved.version}" in r.content.decode()
    # cross-border: the neighbours read are named too
    report = analyse_conflicts(None, municipality=TULUA, modes=["cross_border"])
    assert report.plans[0]["version"] == approved.version and "Vecinos" not in report.analysed_label()


def test_loaders_leave_one_current_plan_per_municipality_in_any_order(territory):
    from territorial.pot.models import Plan
    from territorial.pot.services.loading import generate_demo_plans, load_cali_plan

    generate_demo_plans(["76001", "76520"])  # DEMO first, then the real Cali plan
    load_cali_plan()
    cali = Plan.objects.filter(municipality__divipola="76001")
    real, demo = cali.get(is_demo=False), cali.get(is_demo=True)
    assert (real.status, demo.status) == ("aprobada", "reemplazada")
    assert demo.replaced_by_id == real.pk and real.replaces_id == demo.pk
    generate_demo_plans(["76001"], rebuild=True)  # the rebuilt DEMO does not take over from the real plan
    assert list(cali.filter(status="aprobada")) == [real]
    assert cali.get(is_demo=True).replaced_by_id == real.pk
    counts = {}
    for muni_id in Plan.objects.filter(status="aprobada").values_list("municipality_id", flat=True):
        counts[muni_id] = counts.get(muni_id, 0) + 1
    assert set(counts.values()) == {1} and len(counts) == 2
    report = analyse_conflicts(None, municipality="76001", modes=["internal"])
    assert [p["id"] for p in report.plans] == [real.pk]


def test_migration_keeps_one_approved_plan_per_municipality(territory):
    """Migration 0010's data step on a database with two approved plans in one municipality."""
    import importlib

    from django.apps import apps

    from territorial.models import Municipality
    from territorial.pot.models import Plan

    mig = importlib.import_module("territorial.migrations.0010_pot_gates_amend")
    muni = Municipality.objects.get(divipola=TULUA)
    demo = Plan.objects.create(municipality=muni, name="DEMO", is_demo=True, status="aprobada")
    with connection_without_constraint():
        real = Plan.objects.create(municipality=muni, name="Real", is_demo=False, status="aprobada")
        mig.one_current_plan(apps, None)
    demo.refresh_from_db()
    real.refresh_from_db()
    assert (real.status, demo.status, demo.replaced_by_id, real.replaces_id) == ("aprobada", "reemplazada", real.pk, demo.pk)


class connection_without_constraint:
    """Drop the partial unique index for the block (inside the test's transaction: rolled back after)."""

    def __enter__(self):
        from django.db import connection

        with connection.cursor() as cur:
            cur.execute('DROP INDEX IF EXISTS "uniq_pot_current_plan"')

    def __exit__(self, *exc):
        return False


def test_revision_copies_conflict_pieces(pot_users, tulua, approved):
    from territorial.pot.models import ZonePiece

    new = P.revise_plan(pot_users["planner"], approved)
    assert ZonePiece.objects.filter(plan_id_copy=new.pk).count() == ZonePiece.objects.filter(
        plan_id_copy=approved.pk).count() > 0
    union = shapely.union_all([shapely.from_wkb(bytes(z.geom_m.wkb)) for z in new.zones.all()])
    assert union.area == pytest.approx(muni_m(tulua).area, rel=1e-6)
