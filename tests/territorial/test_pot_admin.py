"""The admin shows and changes only what the same user touches through the API: a planner their
municipalities' plans (and those plans' zones, versions, comments), a reviewer what reached review, a
superuser everything. Workflow fields are read-only for everyone and a comment's author is the user."""
import pytest

from territorial.pot.services import plans as P

from .test_pot_fixtures import cabecera_m, cali_plan, fc, lenient_rules, pot_users, square_feature  # noqa: F401

# lenient_rules: submissions here are about exchange/admin, not the validation gates (test_pot_gates.py)
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("lenient_rules")]


@pytest.fixture
def staff(pot_users):
    """The POT users with admin access, the groups' permissions as the roles migration defines them."""
    import importlib

    from django.apps import apps as django_apps
    from django.contrib.auth.management import create_permissions

    create_permissions(django_apps.get_app_config("territorial"), verbosity=0)
    importlib.import_module("territorial.migrations.0004_pot_roles_determinants").seed(django_apps)
    for key in ("planner", "other_planner", "reviewer", "reviewer2", "analyst"):
        pot_users[key].is_staff = True
        pot_users[key].save()
    return pot_users


@pytest.fixture
def tulua_plan(staff):
    from territorial.models import Municipality
    from territorial.pot.models import PlannerAssignment

    tulua = Municipality.objects.get(divipola="76834")
    PlannerAssignment.objects.create(user=staff["other_planner"], municipality=tulua)
    staff["other_planner"].__dict__.pop("_pot_roles", None)
    return P.create_plan(staff["other_planner"], tulua, "POT Tuluá borrador")


def _ids_in_changelist(client, model):
    r = client.get(f"/admin/territorial/{model}/")
    assert r.status_code == 200
    return set(r.context["cl"].result_list.values_list("pk", flat=True))


def _filled(users, plan):
    x, y = cabecera_m(users["cali"])
    P.save_zones(users["planner"], plan, fc(square_feature(x, y, x + 1000, y + 1000, "urbano")), plan.version)
    plan.refresh_from_db()
    return plan


def test_planner_sees_only_their_municipalitys_plans(client, staff, cali_plan, tulua_plan):
    _filled(staff, cali_plan)
    client.force_login(staff["planner"])
    assert _ids_in_changelist(client, "plan") == {cali_plan.pk}
    assert _ids_in_changelist(client, "zone") == set(cali_plan.zones.values_list("pk", flat=True))
    assert _ids_in_changelist(client, "planversion") == set(cali_plan.versions.values_list("pk", flat=True))
    r = client.get(f"/admin/territorial/plan/{tulua_plan.pk}/change/")
    assert r.status_code == 302  # the admin's answer for an object outside the queryset: "does not exist"
    r = client.post(f"/admin/territorial/plan/{tulua_plan.pk}/change/", {"name": "Tomado", "source": ""})
    assert r.status_code == 302
    tulua_plan.refresh_from_db()
    assert tulua_plan.name == "POT Tuluá borrador"
    client.force_login(staff["other_planner"])
    assert _ids_in_changelist(client, "plan") == {tulua_plan.pk}
    assert _ids_in_changelist(client, "zone") == set()


def test_workflow_fields_cannot_be_changed_in_the_admin(client, staff, cali_plan, tulua_plan):
    client.force_login(staff["planner"])
    url = f"/admin/territorial/plan/{cali_plan.pk}/change/"
    r = client.post(url, {
        "name": "Renombrado", "source": "Acuerdo 0373", "status": "aprobada", "version": 99, "is_demo": "on",
        "municipality": tulua_plan.municipality_id, "created_by": staff["other_planner"].pk,
        "submitted_by": staff["planner"].pk, "reviewed_by": staff["planner"].pk})
    assert r.status_code == 302, r.content[:1000]
    cali_plan.refresh_from_db()
    assert (cali_plan.name, cali_plan.source) == ("Renombrado", "Acuerdo 0373")
    assert (cali_plan.status, cali_plan.version, cali_plan.is_demo, cali_plan.municipality_id) == \
        ("borrador", 1, False, staff["cali"].pk)
    assert (cali_plan.created_by_id, cali_plan.submitted_by_id, cali_plan.reviewed_by_id) == \
        (staff["planner"].pk, None, None)
    # once submitted the plan is out of the planner's hands here too
    P.transition(staff["planner"], cali_plan, "enviar", 1)
    assert client.get(url).status_code == 200  # may look
    assert client.post(url, {"name": "Otra vez", "source": ""}).status_code == 403
    cali_plan.refresh_from_db()
    assert cali_plan.name == "Renombrado" and cali_plan.status == "enviada"


def test_plan_added_in_the_admin_is_a_draft_of_an_assigned_municipality(client, staff, tulua_plan):
    from territorial.pot.models import Plan

    client.force_login(staff["planner"])
    form = client.get("/admin/territorial/plan/add/").context["adminform"].form
    assert list(form.fields["municipality"].queryset.values_list("divipola", flat=True)) == ["76001"]
    r = client.post("/admin/territorial/plan/add/", {"name": "Nuevo", "source": "",
                                                     "municipality": tulua_plan.municipality_id, "status": "aprobada"})
    assert r.status_code == 200 and not Plan.objects.filter(name="Nuevo").exists()  # not a valid choice
    r = client.post("/admin/territorial/plan/add/", {"name": "Nuevo", "source": "", "municipality": staff["cali"].pk,
                                                     "status": "aprobada"})
    assert r.status_code == 302
    plan = Plan.objects.get(name="Nuevo")
    assert (plan.status, plan.created_by, plan.version) == ("borrador", staff["planner"], 1)
    assert list(plan.versions.values_list("action", flat=True)) == ["crear"]


def test_comment_author_is_the_request_user(client, staff, cali_plan, tulua_plan):
    from territorial.pot.models import ReviewComment

    P.transition(staff["planner"], cali_plan, "enviar", 1)
    cab = staff["cali"].cabecera
    client.force_login(staff["reviewer"])
    r = client.post("/admin/territorial/reviewcomment/add/", {
        "plan": cali_plan.pk, "text": "Revisar la ronda", "author": staff["planner"].pk, "plan_version": 99,
        "point": f'{{"type": "Point", "coordinates": [{cab.x}, {cab.y}]}}'})
    assert r.status_code == 302, r.content[:2000]
    c = ReviewComment.objects.get()
    assert (c.author, c.plan_version, c.plan) == (staff["reviewer"], 2, cali_plan)
    # a planner answers (author forced to them) but may not open a thread, nor comment another municipality's plan
    client.force_login(staff["planner"])
    r = client.post("/admin/territorial/reviewcomment/add/", {
        "plan": cali_plan.pk, "parent": c.pk, "text": "Corregido", "author": staff["reviewer"].pk})
    assert r.status_code == 302, r.content[:2000]
    assert ReviewComment.objects.get(parent=c).author == staff["planner"]
    r = client.post("/admin/territorial/reviewcomment/add/", {
        "plan": cali_plan.pk, "text": "Hilo nuevo", "point": f'{{"type": "Point", "coordinates": [{cab.x}, {cab.y}]}}'})
    assert r.status_code == 200 and "los revisores los abren" in r.content.decode()
    r = client.post("/admin/territorial/reviewcomment/add/", {"plan": tulua_plan.pk, "parent": "", "text": "x"})
    assert r.status_code == 200 and ReviewComment.objects.count() == 2
    # the reviewer may not rewrite the planner's answer; the comments list is scoped per municipality
    answer = ReviewComment.objects.get(parent=c)
    client.force_login(staff["reviewer"])
    assert client.post(f"/admin/territorial/reviewcomment/{answer.pk}/change/", {"text": "cambiado"}).status_code == 403
    client.force_login(staff["other_planner"])
    assert _ids_in_changelist(client, "reviewcomment") == set()


def test_reviewer_sees_what_reached_review_superuser_everything(client, staff, cali_plan, tulua_plan,
                                                                 django_user_model):
    client.force_login(staff["reviewer"])
    assert _ids_in_changelist(client, "plan") == set()  # drafts are still the planners'
    P.transition(staff["planner"], cali_plan, "enviar", 1)
    assert _ids_in_changelist(client, "plan") == {cali_plan.pk}
    r = client.post(f"/admin/territorial/plan/{cali_plan.pk}/change/", {"name": "x", "source": ""})
    assert r.status_code == 403  # reviewers change plans through the workflow only
    boss = django_user_model.objects.create_superuser("jefa", "jefa@example.org", None)
    client.force_login(boss)
    assert _ids_in_changelist(client, "plan") == {cali_plan.pk, tulua_plan.pk}
