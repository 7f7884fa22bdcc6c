"""Fixtures of the plan follow-up: the seeded structure, one program, two entities and their users."""
import pytest


@pytest.fixture
def structure(territory):
    """The seed (migration) plus a program under the first seed line and two entities."""
    from django.apps import apps

    from plan.models import Entity, Program, ProgramLine
    from plan.seed import seed

    seed(apps)  # idempotent: a flushed (transactional) database gets it back
    line = ProgramLine.objects.get(code="sistema-ciudades")
    program = Program.objects.create(line=line, code="prog-prueba", name="Programa de prueba")
    a = Entity.objects.create(code="ent-a", name="Entidad A")
    b = Entity.objects.create(code="ent-b", name="Entidad B")
    return {"line": line, "program": program, "a": a, "b": b}


@pytest.fixture
def office(make_user, structure):
    return make_user("oficina", "Oficina de planeación")


@pytest.fixture
def reporters(make_user, structure):
    ua = make_user("reporta_a", "Entidad ejecutora")
    ub = make_user("reporta_b", "Entidad ejecutora")
    structure["a"].members.add(ua)
    structure["b"].members.add(ub)
    return {"a": ua, "b": ub}
