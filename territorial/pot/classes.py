"""Registries of the POT vocabulary: soil classes (Ley 388 de 1997, arts. 30–35), workflow states,
verdicts and the cross-border class compatibility. Dicts, so a new class is one entry, not a branch."""
from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _

from geosig.errors import InvalidParameter


@dataclass(frozen=True)
class SoilClass:
    code: str
    label: object
    article: str
    color: str
    intensity: int  # 0 = protection … 4 = urban: orders "which side presses on which" across borders


SOIL_CLASSES: dict[str, SoilClass] = {
    c.code: c
    for c in (
        SoilClass("urbano", _("Suelo urbano"), "Ley 388/1997 art. 31", "#d7301f", 4),
        SoilClass("expansion_urbana", _("Suelo de expansión urbana"), "Ley 388/1997 art. 32", "#fc8d59", 3),
        SoilClass("suburbano", _("Suelo suburbano"), "Ley 388/1997 art. 34", "#fdcc8a", 2),
        SoilClass("rural", _("Suelo rural"), "Ley 388/1997 art. 33", "#a1d99b", 1),
        SoilClass("proteccion", _("Suelo de protección"), "Ley 388/1997 art. 35", "#238b45", 0),
    )
}

# Aliases seen in municipal POT files (lower-case, unaccented) → our code; import mapping defaults.
SOIL_CLASS_ALIASES: dict[str, str] = {
    "urbano": "urbano", "suelo urbano": "urbano", "su": "urbano", "urb": "urbano",
    "expansion": "expansion_urbana", "expansion urbana": "expansion_urbana",
    "suelo de expansion urbana": "expansion_urbana", "se": "expansion_urbana",
    "suburbano": "suburbano", "suelo suburbano": "suburbano", "ss": "suburbano",
    "rural": "rural", "suelo rural": "rural", "sr": "rural",
    "proteccion": "proteccion", "suelo de proteccion": "proteccion", "sp": "proteccion",
}


def soil_label(code: str) -> str:
    """The reader's name of a soil class ("expansion_urbana" → "Suelo de expansión urbana"); unknown codes as given."""
    return str(SOIL_CLASSES[code].label) if code in SOIL_CLASSES else str(code)


def check_soil_class(code: str) -> str:
    if code not in SOIL_CLASSES:
        valid = ", ".join(SOIL_CLASSES)
        raise InvalidParameter(f"Clase de suelo desconocida «{code}». Valores válidos: {valid}.", field="soil_class")
    return code


class Status:
    BORRADOR = "borrador"
    ENVIADA = "enviada"
    EN_REVISION = "en_revision"
    APROBADA = "aprobada"
    DEVUELTA = "devuelta"
    REEMPLAZADA = "reemplazada"  # an approved plan superseded by the approval of a later one (its revision)

    CHOICES = [
        (BORRADOR, _("Borrador")),
        (ENVIADA, _("Enviada")),
        (EN_REVISION, _("En revisión")),
        (APROBADA, _("Aprobada")),
        (DEVUELTA, _("Devuelta")),
        (REEMPLAZADA, _("Reemplazada")),
    ]
    EDITABLE = {BORRADOR, DEVUELTA}  # zones change only while the planner holds the plan
    # what anonymous users may see: the current plan and the record of the plans it replaced
    PUBLISHED = {APROBADA, REEMPLAZADA}
    IN_REVIEW = {ENVIADA, EN_REVISION}


class Verdict:
    COMPATIBLE = "compatible"
    CONDICIONADO = "condicionado"
    INCOMPATIBLE = "incompatible"
    CHOICES = [
        (COMPATIBLE, _("Compatible")),
        (CONDICIONADO, _("Condicionado")),
        (INCOMPATIBLE, _("Incompatible")),
    ]


# Across a municipal boundary: which class pairs must not face each other (order-free).
CROSS_BORDER_VERDICTS: dict[frozenset, str] = {
    frozenset({"urbano", "proteccion"}): Verdict.INCOMPATIBLE,
    frozenset({"expansion_urbana", "proteccion"}): Verdict.INCOMPATIBLE,
    frozenset({"suburbano", "proteccion"}): Verdict.CONDICIONADO,
    frozenset({"urbano", "rural"}): Verdict.CONDICIONADO,
    frozenset({"expansion_urbana", "rural"}): Verdict.CONDICIONADO,
}


def cross_border_verdict(a: str, b: str) -> str:
    return CROSS_BORDER_VERDICTS.get(frozenset({a, b}), Verdict.COMPATIBLE)


# Use categories offered by the form (free text is allowed too: municipal POTs name their own).
USE_CATEGORIES = [
    "residencial", "mixto", "comercial y de servicios", "industrial", "dotacional",
    "agropecuario", "forestal productor", "conservación", "restauración", "espacio público",
]
