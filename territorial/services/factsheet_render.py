"""A fact sheet rendered: its HTML body (page) and its PDF (WeasyPrint), each built once per subject, language
and data version (``geosig.versioned`` memo). The single sheet's page and PDF and the batch job (all sheets into
one ZIP, ``territorial.jobs``) both render through here, so a sheet in the ZIP is the sheet the page offers."""
from __future__ import annotations

from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.utils.translation import get_language

from geosig import formats, versioned
from territorial import factsheets

FACTSHEET_NS = "factsheets"


def _key(subj) -> tuple:
    return (subj.kind, subj.code, get_language(), factsheets.data_version(subj))


def sheet_body(subj, key: tuple | None = None) -> str:
    """The sheet's HTML body (every registered section), in the active language."""
    key = key or _key(subj)

    def build() -> str:
        sheet = factsheets.build_sheet(subj, None)
        return render_to_string("territorial/factsheet/_body.html", {
            "subject": subj, "sections": sheet["sections"], "demo": sheet["demo"],
            "generated": timezone.localtime().strftime("%Y-%m-%d %H:%M")})

    return versioned.memo(FACTSHEET_NS, ("html", *key), build)[0].decode()


def sheet_pdf(subj) -> bytes:
    """The sheet as an A4 PDF, in the active language."""
    key = _key(subj)  # the data version once: it reads every section's signature

    def build() -> bytes:
        html = render_to_string("territorial/factsheet/pdf.html", {
            "subject": subj, "body": mark_safe(sheet_body(subj, key)), "lang": get_language()})  # noqa: S308  our template, autoescaped
        return formats.render_pdf(html)

    return versioned.memo(FACTSHEET_NS, ("pdf", *key), build)[0]
