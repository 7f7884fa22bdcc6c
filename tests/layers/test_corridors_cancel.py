"""Who may cancel a corridor run: the user who started it, or a holder of «cancel_any_corridorrun»
(groups «Editor de capas» and «Revisor CVC»); another analyst may not. Checked before anything changes."""
import pytest

from layers.corridors.models import CorridorRun

pytestmark = pytest.mark.django_db


@pytest.fixture
def users(make_user):
    import importlib

    from django.apps import apps

    owner = make_user("duena", "Analista CVC")
    make_user("sembrar-roles", "Editor de capas")  # make_user restores the layers roles if a flush dropped them
    importlib.import_module("territorial.migrations.0009_reviewers_cancel_corridor_runs").seed(apps)
    return {
        "owner": owner, "other": make_user("otro-analista", "Analista CVC"),
        "editor": make_user("editor", "Editor de capas"), "reviewer": make_user("revisora", "Revisor CVC"),
        "nobody": make_user("sin-rol"),
    }


def _run(owner, status=CorridorRun.Status.RUNNING):
    return CorridorRun.objects.create(inputs_hash="a" * 64, params={"width": 1}, status=status, created_by=owner)


def _cancel(client, user, run):
    if user is not None:
        client.force_login(user)
    return client.post(f"/api/v1/corridors/{run.pk}/cancel/")


@pytest.mark.parametrize("who, status", [("other", 403), ("nobody", 403), (None, 403),
                                         ("owner", 200), ("reviewer", 200), ("editor", 200)])
def test_cancel_by_role(client, users, who, status):
    run = _run(users["owner"])
    r = _cancel(client, users[who] if who else None, run)
    assert r.status_code == status, r.content
    run.refresh_from_db()
    assert run.cancel_requested is (status == 200)
    assert run.status == CorridorRun.Status.RUNNING  # a running run stops at its next check, not here
    if status == 403:
        assert r.json()["error"] == "permission_denied"


def test_owner_cancels_a_pending_run_at_once_and_nobody_cancels_a_finished_one(client, users):
    run = _run(users["owner"], CorridorRun.Status.PENDING)
    assert _cancel(client, users["owner"], run).json()["status"] == "cancelled"
    done = _run(users["owner"], CorridorRun.Status.DONE)
    assert _cancel(client, users["other"], done).status_code == 403  # not theirs: no hint about its state
    assert _cancel(client, users["reviewer"], done).status_code == 409


def test_a_run_without_owner_is_cancelled_only_with_the_permission(client, users):
    run = _run(None)  # started from the command line
    assert _cancel(client, users["other"], run).status_code == 403
    assert _cancel(client, users["editor"], run).status_code == 200
