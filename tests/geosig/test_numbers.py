"""geosig.numbers: es-CO conventions in Spanish, en-US in English; areas in the unit a reader grasps."""
import pytest
from django.utils import translation

from geosig.numbers import area_label, length_label, number, pct_label

NB = "\u00a0"


@pytest.mark.parametrize("m2, es, en", [
    (12_082_998, f"1.208,3{NB}ha", f"1,208.3{NB}ha"),       # the POT editor example
    (877_399_608, f"877,4{NB}km²", f"877.4{NB}km²"),        # the conflicts-page example
    (850.4, f"850{NB}m²", f"850{NB}m²"),                    # below 1 ha: whole square metres
    (9_999.4, f"9.999{NB}m²", f"9,999{NB}m²"),
    (10_000, f"1,0{NB}ha", f"1.0{NB}ha"),                  # 1 ha: first hectare value
    (99_999_999, f"10.000,0{NB}ha", f"10,000.0{NB}ha"),    # just under 100 km²
    (100_000_000, f"100,0{NB}km²", f"100.0{NB}km²"),
    (-25_000, f"-2,5{NB}ha", f"-2.5{NB}ha"),
    (None, "—", "—"),
])
def test_area_label(m2, es, en):
    with translation.override("es"):
        assert area_label(m2) == es
    with translation.override("en"):
        assert area_label(m2) == en


def test_number_pct_and_length():
    with translation.override("es"):
        assert number(1_234_567.891, 2) == "1.234.567,89"
        assert number(1234) == "1.234"  # es-CO groups four-digit numbers too (as the browser's es-CO)
        assert pct_label(25.63) == f"25,6{NB}%"
        assert pct_label(0.04, 2) == f"0,04{NB}%"
        assert length_label(850) == f"850{NB}m" and length_label(12_345) == f"12,3{NB}km"
    with translation.override("en"):
        assert number(1_234_567.891, 2) == "1,234,567.89"
        assert pct_label(25.63) == f"25.6{NB}%"


def test_templates_use_colombian_separators():
    """FORMAT_MODULE_PATH: Django's generic "es" would group with a no-break space, es-CO with a dot."""
    from django.template import Context, Template

    with translation.override("es"):
        assert Template('{{ v|floatformat:"1g" }}').render(Context({"v": 12082998.25})) == "12.082.998,3"


@pytest.mark.parametrize("lang", ["es", "en"])
def test_number_fast_path_equals_djangos_formatter(lang):
    """``number`` formats with separators looked up once per language; Django's ``number_format`` is the
    reference, on random magnitudes, signs, halves and the digit counts the services use."""
    import random

    from django.utils import formats, translation

    rng = random.Random(7)
    values = [0.0, -0.0, 0.05, -0.04, 999.5, 1000, -1000, 1234567.25, 2.5, 0.125, 1e14 + 0.5]
    values += [rng.uniform(-1, 1) * 10 ** rng.randint(0, 14) for _ in range(3000)]
    with translation.override(lang):
        for v in values:
            for digits in (0, 1, 2, 3):
                ref = formats.number_format(round(v, digits), decimal_pos=digits, use_l10n=True, force_grouping=True)
                assert number(v, digits) == ref, (v, digits)
