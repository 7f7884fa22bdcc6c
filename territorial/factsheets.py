"""Fact sheets of a municipality or a subregion: a registry of sections that each app fills with what it knows.

territorial sits low in the stack, so it cannot import cities or plan: each app registers its own section
from its ``AppConfig.ready()`` (contract in docs/architecture.md, «Fichas»). A section's ``build`` gets a
``Subject`` and returns plain translated text (facts, paragraphs, tables, notes) or None; the page and the
PDF render every section the same way, as text.

A sheet is cached per subject, language, format and data version: the versions of every namespace the
sections declare (``versioned.bump``) plus each section's cheap ``signature`` (for data without a
namespace, e.g. plan versions or corridor runs).
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Callable

from django.utils.translation import gettext as _

from geosig import params, versioned
from geosig.errors import InvalidParameter, NotFound

KINDS = ("municipio", "subregion")


@dataclass(frozen=True)
class Subject:
    kind: str
    code: str
    name: str
    municipality: object  # territorial.models.Municipality or None
    subregion: object     # territorial.models.Subregion
    divipolas: tuple


@dataclass(frozen=True)
class SectionDef:
    key: str
    order: int
    title: object
    build: Callable
    versions: tuple = ()
    signature: Callable | None = None


_SECTIONS: dict[str, SectionDef] = {}


def register_section(key: str, order: int, title, build: Callable, versions=(), signature: Callable | None = None):
    """Add (or replace: autoreload calls ``ready()`` again) a section. ``versions``: namespaces of
    ``geosig.versioned`` whose bump invalidates cached sheets; ``signature(subject) -> str``: a cheap
    fingerprint of data that has no namespace."""
    _SECTIONS[key] = SectionDef(key, int(order), title, build, tuple(versions), signature)


def sections() -> list[SectionDef]:
    return sorted(_SECTIONS.values(), key=lambda s: (s.order, s.key))


def subject(kind: str, code: str) -> Subject:
    """The municipality (DIVIPOLA) or subregion (code) named in the URL; Spanish 400/404 otherwise."""
    from territorial.models import Municipality, Subregion

    kind = params.choice(kind, "kind", KINDS, required=True)
    code = params.text(code, "code", max_length=30, required=True)
    if kind == "municipio":
        m = Municipality.objects.select_related("subregion").filter(divipola=code).first()
        if m is None:
            raise NotFound(_("No existe un municipio con código DIVIPOLA %(code)r en el Valle del Cauca.") % {"code": code})
        return Subject(kind, m.divipola, m.name, m, m.subregion, (m.divipola,))
    s = Subregion.objects.filter(code=code.lower()).first()
    if s is None:
        valid = ", ".join(Subregion.objects.values_list("code", flat=True))
        raise NotFound(_("Subregión desconocida %(code)r. Válidas: %(valid)s.") % {"code": code, "valid": valid})
    codes = tuple(s.municipalities.order_by("divipola").values_list("divipola", flat=True))
    return Subject(kind, s.code, s.name, None, s, codes)


def data_version(subj: Subject) -> str:
    """One fingerprint of everything a sheet shows: namespace versions + section signatures."""
    parts = [versioned.version("territorial")]
    for sec in sections():
        parts += [versioned.version(ns) for ns in sec.versions]
        if sec.signature is not None:
            parts.append(f"{sec.key}:{sec.signature(subj)}")
    return hashlib.sha1("|".join(parts).encode()).hexdigest()


def build_sheet(kind: str, code: str) -> dict:
    """Every registered section of the subject's sheet, in order; a section with nothing to say has
    ``content`` None (the page says so rather than inventing)."""
    subj = kind if isinstance(kind, Subject) else subject(kind, code)
    out = []
    for sec in sections():
        content = sec.build(subj)
        if content is not None and not isinstance(content, dict):
            raise InvalidParameter(f"La sección {sec.key} devolvió {type(content).__name__}, no un dict.")
        out.append({"key": sec.key, "title": str(sec.title), "order": sec.order, "content": content})
    return {"subject": subj, "sections": out, "demo": any((s["content"] or {}).get("demo") for s in out)}
