"""Import notes follow the reader's language (the upload page shows them as the report)."""
import geopandas as gpd
import pytest
import shapely
from django.utils import translation

from layers.services.importing import import_layer
from tests.layers.conftest import shapefile_zip

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("lang, expected", [
    ("es", "Atributos del DBF leídos según el .cpg"),
    ("en", "DBF attributes read according to the .cpg"),
])
def test_shapefile_notes_in_the_active_language(tmp_path, lang, expected):
    gdf = gpd.GeoDataFrame({"nombre": ["Río Claro"]}, geometry=[shapely.Point(1_061_700.0, 872_200.0)], crs=3115)
    path = shapefile_zip(tmp_path, gdf, f"captaciones_{lang}", encoding="ISO-8859-1")
    with translation.override(lang):
        report = import_layer(path, theme="hidrografia")
    notes = " ".join(report.layers[0].notes)
    assert expected in notes
