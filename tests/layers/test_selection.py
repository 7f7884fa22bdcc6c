"""layers_by_slug: the one slug → layer resolution identify and overlay share."""
import geopandas as gpd
import pytest
import shapely

from geosig.errors import NotFound
from layers.models import Layer
from layers.services.identify import identify
from layers.services.importing import import_layer
from layers.services.selection import layers_by_slug
from tests.layers.conftest import write_vector

pytestmark = pytest.mark.django_db


@pytest.fixture
def three(tmp_path):
    for name in ("uno", "dos", "tres"):
        gdf = gpd.GeoDataFrame({"n": [1]}, geometry=[shapely.Point(-76.5, 3.4)], crs=4326)
        import_layer(write_vector(tmp_path / f"{name}.geojson", gdf, "GeoJSON"))


def test_order_asked_all_by_default_and_every_missing_slug_named(three):
    assert [l.slug for l in layers_by_slug(["tres", "uno"])] == ["tres", "uno"]
    assert sorted(l.slug for l in layers_by_slug(None)) == ["dos", "tres", "uno"]
    assert sorted(l.slug for l in layers_by_slug([])) == ["dos", "tres", "uno"]
    with pytest.raises(NotFound, match="Capas inexistentes: nada, otra."):
        layers_by_slug(["uno", "nada", "dos", "otra"])


def test_restricted_queryset_hides_the_rest(three):
    qs = Layer.objects.filter(slug__in=["uno", "dos"])
    assert [l.slug for l in layers_by_slug(["dos"], qs)] == ["dos"]
    with pytest.raises(NotFound, match="tres"):
        layers_by_slug(["tres"], qs)


def test_identify_uses_it(three):
    out = identify(-76.5, 3.4, layers=["dos", "uno"], zoom=14)
    assert [l["slug"] for l in out["layers"]] == ["dos", "uno"]
    assert out["layers"][0]["features"][0]["distance_m"] == pytest.approx(0.0, abs=1e-6)
    with pytest.raises(NotFound, match="Capas inexistentes: nada."):
        identify(-76.5, 3.4, layers=["uno", "nada"])
