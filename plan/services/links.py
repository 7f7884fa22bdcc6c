"""The analyses a project responds to: a registry kind → (label, resolver). A resolver returns the analysis'
label or None when it does not exist; a link to something that does not exist is refused."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from geosig import params
from geosig.errors import InvalidParameter


@dataclass(frozen=True)
class LinkKind:
    label: object
    resolve: Callable[[str], str | None]
    url: Callable[[str], str | None]


def _pk(ref: str) -> int | None:
    """A database id written as text; anything else (letters, «²», 40 digits) is no id."""
    return int(ref) if ref.isascii() and ref.isdecimal() and len(ref) <= 18 else None


def _corridor_run(ref):
    from layers.corridors.models import CorridorRun

    run = CorridorRun.objects.filter(pk=_pk(ref)).first() if _pk(ref) else None
    return None if run is None else f"{_('Corrida de corredores')} {run.pk}"


def _pot_plan(ref):
    from territorial.pot.models import Plan

    # only an approved plan: the link and its name are shown on the public page, drafts are not public
    plan = Plan.objects.select_related("municipality").filter(pk=_pk(ref), status="aprobada").first() if _pk(ref) else None
    return None if plan is None else f"{plan.name} ({plan.municipality.name})"


def _city_scenario(ref):
    from cities.models import Scenario

    s = Scenario.objects.filter(name=ref).first()
    return None if s is None else str(s)


def _url(name, *args):
    from django.urls import NoReverseMatch, reverse

    try:
        return reverse(name, args=args)
    except NoReverseMatch:
        return None


KINDS: dict[str, LinkKind] = {
    "corridor_run": LinkKind(gettext_lazy("Corrida de corredores"), _corridor_run, lambda r: _url("corridors-page")),
    "pot_plan": LinkKind(gettext_lazy("Plan POT"), _pot_plan, lambda r: _url("pot-editor", _pk(r) or 0)),
    "city_scenario": LinkKind(gettext_lazy("Escenario del sistema de ciudades"), _city_scenario,
                              lambda r: _url("cities-balance")),
}


def parse(value) -> list[tuple[str, str, str]]:
    """[{kind, ref}] → [(kind, ref, label)], each checked to exist."""
    if value in (None, ""):
        return []
    if not isinstance(value, list) or len(value) > 50:
        raise InvalidParameter(_("«links» debe ser una lista (máximo 50) de {kind, ref}."), parameter="links")

    def one(item):
        item = params.mapping(item, "links", required=True, allowed={"kind", "ref"})
        kind = params.choice(item.get("kind"), "kind", list(KINDS), required=True)
        ref = params.text(item.get("ref") if not isinstance(item.get("ref"), int) else str(item["ref"]), "ref",
                          max_length=100, required=True)
        label = KINDS[kind].resolve(ref)
        if label is None:
            raise InvalidParameter(_("no existe %(kind)s «%(ref)s»") % {"kind": KINDS[kind].label, "ref": ref})
        return kind, ref, label

    out = params.each(value, "links", one, lambda n, _i, why: _("análisis %(n)s: %(why)s") % {"n": n, "why": why})
    if len({(k, r) for k, r, _l in out}) != len(out):
        raise InvalidParameter(_("«links» repite un análisis."), parameter="links")
    return out


def as_dict(link) -> dict:
    kind = KINDS.get(link.kind)
    return {"kind": link.kind, "kind_label": str(kind.label) if kind else link.kind, "ref": link.ref,
            "label": link.label, "url": kind.url(link.ref) if kind else None}
