"""The English catalogue is complete, and server-made messages follow the reader's language.

The .po file is read with a small parser (polib is not a dependency): entries are separated by blank
lines; ``#,`` lines carry the flags; ``msgstr``/``msgstr[n]`` and their continuation lines the text.
"""
import ast
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.shortcuts import resolve_url
from django.utils import translation

from geosig import params
from geosig.errors import InvalidParameter

PO = Path(settings.BASE_DIR) / "locale" / "en" / "LC_MESSAGES" / "django.po"
_FIELD = re.compile(r'^(msgctxt|msgid_plural|msgid|msgstr(?:\[\d+\])?) (".*")$')
_PLACEHOLDER = re.compile(r"%\(\w+\)[-#0 +]*\d*(?:\.\d+)?[sdfr]|\{\w*\}")


def _entries():
    """(fields, flags) of every live entry of the catalogue; obsolete ``#~`` entries are left out."""
    for block in PO.read_text(encoding="utf-8").split("\n\n"):
        fields, flags, key = {}, set(), None
        for line in block.splitlines():
            if line.startswith("#,"):
                flags |= {f.strip() for f in line[2:].split(",")}
            elif line.startswith('"') and key:
                fields[key] += ast.literal_eval(line)
            elif m := _FIELD.match(line):
                key = m.group(1)
                fields[key] = ast.literal_eval(m.group(2))
        if "msgid" in fields and fields["msgid"] != "":  # the header has an empty msgid
            yield fields, flags


def test_parser_reads_the_catalogue():
    entries = dict((f.get("msgctxt", "") + "|" + f["msgid"], f) for f, _ in _entries())
    assert len(entries) > 500
    assert entries["|Menú"]["msgstr"] == "Menu"  # a known entry, read whole


def test_no_entry_is_untranslated_or_fuzzy():
    untranslated = [f["msgid"] for f, _ in _entries()
                    if any(v == "" for k, v in f.items() if k.startswith("msgstr"))]
    fuzzy = [f["msgid"] for f, flags in _entries() if "fuzzy" in flags]
    assert untranslated == [] and fuzzy == []


def test_translations_keep_the_placeholders():
    wrong = [f["msgid"] for f, _ in _entries()
             if "msgid_plural" not in f and sorted(_PLACEHOLDER.findall(f["msgid"])) != sorted(_PLACEHOLDER.findall(f["msgstr"]))]
    assert wrong == []


@pytest.mark.parametrize("call, spanish, english", [
    (lambda: params.number("abc", "k"), "«k» debe ser un número; recibido 'abc'.",
     "«k» must be a number; received 'abc'."),
    (lambda: params.number("2,5", "r", maximum=1.25), "«r» debe ser ≤ 1,25; recibido 2,5.", "«r» must be ≤ 1.25; received 2.5."),
    (lambda: params.text("a" * 1500, "t", max_length=1000), "«t» tiene 1.500 caracteres; el máximo es 1.000.",
     "«t» has 1,500 characters; the maximum is 1,000."),
    (lambda: params.choice(None, "m", ["a", "b"], required=True), "Falta el parámetro «m». Valores válidos: a, b.",
     "The parameter «m» is missing. Valid values: a, b."),
])
def test_params_messages_in_both_languages(call, spanish, english):
    for lang, expected in (("es", spanish), ("en", english)):
        with translation.override(lang), pytest.raises(InvalidParameter) as err:
            call()
        assert err.value.message == expected


@pytest.mark.django_db
def test_api_parameter_error_follows_the_cookie(client):
    r = client.get("/api/v1/municipalities/", {"bbox": "x"})
    assert r.status_code == 400
    assert r.json()["detail"] == "«bbox» necesita 4 números: minlon,minlat,maxlon,maxlat; recibido 'x'."
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    r = client.get("/api/v1/municipalities/", {"bbox": "x"})
    assert r.status_code == 400
    assert r.json()["detail"] == "«bbox» needs 4 numbers: minlon,minlat,maxlon,maxlat; received 'x'."


def test_login_url_is_the_apps_login_page():
    assert resolve_url(settings.LOGIN_URL) == "/cuentas/ingresar/"


@pytest.mark.django_db
def test_pot_api_error_follows_the_cookie(client):
    r = client.get("/api/v1/pot/plans/987654321/")
    assert r.status_code == 404
    assert r.json()["detail"] == "No existe el plan 987654321 o no tiene permiso para verlo."
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    r = client.get("/api/v1/pot/plans/987654321/")
    assert r.status_code == 404
    assert r.json()["detail"] == "Plan 987654321 does not exist or you are not allowed to see it."


def test_pot_clip_message_in_both_languages():
    from territorial.pot.services.validation import CleanZone, _clip_message

    zone = CleanZone(index=2, zone_id=None, soil_class="urbano", use_category="", name="Lote", notes="",
                     geom=None, geom_m=None, area_m2=25_000)
    with translation.override("es"):
        assert _clip_message(zone, 3000, 20_000) == ("Zona n.º 3 («Lote») ajustada: se recortaron 3.000\u00a0m² fuera "
                                                   "del municipio y 2,0\u00a0ha bajo otras zonas del plan; queda de "
                                                   "2,5\u00a0ha.")
    with translation.override("en"):
        assert _clip_message(zone, 3000, 20_000) == ("Zone no. 3 («Lote») fitted: 3,000\u00a0m² outside the "
                                                   "municipality and 2.0\u00a0ha under other zones of the plan were "
                                                   "cut off; 2.5\u00a0ha remain.")


_GETTEXT = {"_", "gettext", "gettext_lazy", "gettext_noop", "pgettext", "pgettext_lazy"}
_TEMPLATE_TAG = re.compile(r"""\{%\s*(?:translate|trans)\s+(["'])(.*?)\1""")
_SOURCE_DIRS = ("geosig", "jobs", "layers", "territorial", "cities", "plan", "ogc")


def _source_msgids():
    """(msgid, file) of every literal string the app code marks for translation: Python calls of the gettext
    family (first literal argument; implicit concatenation is one constant) and {% translate "…" %} tags."""
    root = Path(settings.BASE_DIR)
    for top in _SOURCE_DIRS:
        for path in sorted((root / top).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if not isinstance(node, ast.Call) or not node.args:
                    continue
                name = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", None)
                if name not in _GETTEXT:
                    continue
                arg = node.args[1] if name.startswith("pgettext") and len(node.args) > 1 else node.args[0]
                if isinstance(arg, ast.Constant) and isinstance(arg.value, str) and arg.value:
                    yield arg.value, path.relative_to(root)
        for path in sorted((root / top).rglob("*.html")):
            for m in _TEMPLATE_TAG.finditer(path.read_text(encoding="utf-8")):
                yield m.group(2).replace("%", "%%"), path.relative_to(root)  # as makemessages writes a % of a tag


def test_every_marked_string_has_an_english_entry():
    """A Spanish string marked for translation in the code or a template has its entry in the English catalogue
    (compilemessages alone never notices one that is missing: the page then stays in Spanish)."""
    known = {f["msgid"] for f, _ in _entries()}
    missing = sorted({f"{path}: {msgid}" for msgid, path in _source_msgids() if msgid not in known})
    assert missing == []
