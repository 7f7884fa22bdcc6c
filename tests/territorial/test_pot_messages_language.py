"""POT save errors follow the reader's language, with areas in es-CO / English number conventions."""
import pytest
from django.utils import translation

from geosig.errors import InvalidGeometry
from geosig.numbers import area_label
from territorial.pot.services.validation import MIN_ZONE_AREA_M2, validate_features

pytestmark = pytest.mark.django_db


def _tiny_square(muni):
    x, y, d = muni.cabecera.x, muni.cabecera.y, 0.00003  # ≈ 3.3 m × 3.3 m: far below the minimum zone area
    ring = [[x, y], [x + d, y], [x + d, y + d], [x, y + d], [x, y]]
    return [{"type": "Feature", "properties": {"soil_class": "urbano", "name": "Lote"},
             "geometry": {"type": "Polygon", "coordinates": [ring]}}]


@pytest.mark.parametrize("lang, words", [
    ("es", ("Zona n.º 1 («Lote»): área de ", ", menor que el mínimo de ")),
    ("en", ("Zone no. 1 («Lote»): area of ", ", below the minimum of ")),
])
def test_too_small_zone_message(territory, lang, words):
    muni = territory.get(divipola="76001")
    with translation.override(lang), pytest.raises(InvalidGeometry) as err:
        validate_features(_tiny_square(muni), muni, fit=False)
    with translation.override(lang):
        minimum = area_label(MIN_ZONE_AREA_M2)
    msg = err.value.message
    assert msg.startswith(words[0]) and words[1] in msg and msg.endswith(f"{minimum}.")
    assert "m²" in msg
