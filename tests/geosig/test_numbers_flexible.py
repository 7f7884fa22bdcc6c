"""geosig.numbers.flexible: the replacement for f"{x:g}" in server-built messages (never scientific)."""
import pytest
from django.utils import translation

from geosig.numbers import flexible


@pytest.mark.parametrize("value, digits, es, en", [
    (0.5, 3, "0,5", "0.5"),
    (1000, 3, "1.000", "1,000"),
    (124_600.25, 1, "124.600,2", "124,600.2"),  # round half to even on .25 → .2
    (1.246e5, 1, "124.600", "124,600"),         # f"{x:.4g}" gave 1.246e+05
    (3.0e7, 0, "30.000.000", "30,000,000"),
    (1e-7, 3, "0", "0"),
    (-0.25, 3, "-0,25", "-0.25"),
    (None, 3, "—", "—"),
])
def test_flexible(value, digits, es, en):
    with translation.override("es"):
        assert flexible(value, digits) == es
    with translation.override("en"):
        assert flexible(value, digits) == en
