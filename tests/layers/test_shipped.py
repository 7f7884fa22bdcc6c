"""load_layers on the real data/raw files: counts and figures against data/raw/README.md, caveats, idempotency."""
import subprocess

import numpy as np
import pytest
import rasterio
from django.conf import settings
from django.core.management import call_command
from django.db.models import Sum

from layers.models import Feature, Layer

pytestmark = pytest.mark.django_db
RAW = settings.GEOSIG_RAW_DIR


def test_load_layers_real_files_metadata_derived_and_idempotent(settings, tmp_path, capsys):
    settings.GEOSIG_PROCESSED_DIR = tmp_path / "processed"
    call_command("load_layers")
    assert Layer.objects.count() == 13

    runap = Layer.objects.get(slug="runap-centroides")
    assert runap.geometry_type == "point" and runap.feature_count == 231  # README: 231 points
    assert "NO POLÍGONOS" in runap.caveat and "centroides" in runap.title
    counts = dict(Feature.objects.filter(layer=runap).values_list("class_value").annotate(n=Sum(1)))
    assert max(counts.values()) == 187  # README: 187 Reservas Naturales de la Sociedad Civil

    dem = Layer.objects.get(slug="dem-srtm3")
    assert dem.kind == "raster" and dem.is_partial and "4°N" in dem.caveat
    assert (dem.raster_meta["min"], dem.raster_meta["max"]) == (-15.0, 4221.0)  # README: −15 … 4,221 m

    eco = Layer.objects.get(slug="ecorregiones-teow")
    montane = Feature.objects.get(layer=eco, class_value="Cauca Valley Montane Forests")
    assert montane.area_m2 / 1e6 == pytest.approx(6777.4, rel=5e-3)  # README geodesic km²; 9377 scale ≈ +0.1 %
    for slug, n in [("paramos-chbio", 5), ("bosque-seco-chbio", 63)]:
        layer = Layer.objects.get(slug=slug)
        assert layer.feature_count == n and layer.is_partial and "PARCIAL" in layer.title
    centres = Layer.objects.get(slug="centros-poblados")
    assert Feature.objects.filter(layer=centres, class_value="CABECERA MUNICIPAL (CM)").count() == 42

    bands = Layer.objects.get(slug="bandas-elevacion")
    assert bands.is_derived and "sieve" in bands.derivation_note
    total_km2 = Feature.objects.filter(layer=bands).aggregate(s=Sum("area_m2"))["s"] / 1e6
    assert total_km2 == pytest.approx(13_394, rel=0.02)  # README: DEM covers 13,394 km²

    slope = Layer.objects.get(slug="pendiente-srtm3")
    assert slope.is_derived and "numpy.gradient" in slope.derivation_note
    # independent reference: GDAL's own slope with central differences (Zevenbergen-Thorne), one constant
    # degree→metre scale (-s 111120) where we convert per row on the ellipsoid: medians agree within 2 %
    ref = tmp_path / "gdal_slope.tif"
    subprocess.run(["gdaldem", "slope", "-q", "-alg", "ZevenbergenThorne", "-s", "111120", str(RAW / "environment/valle_dem_srtm3_lat3to4_partial.tif"),
                    str(ref)], check=True)
    with rasterio.open(ref) as a, rasterio.open(slope.raster_path) as b:
        ours, theirs = b.read(1, masked=True), a.read(1, masked=True)
        both = ~(np.ma.getmaskarray(ours) | np.ma.getmaskarray(theirs))
        assert np.median(ours.data[both]) == pytest.approx(np.median(theirs.data[both]), rel=0.02)

    ids = list(Feature.objects.order_by("id").values_list("id", flat=True))
    capsys.readouterr()
    call_command("load_layers")
    assert capsys.readouterr().out.count("sin cambios") == 13
    assert list(Feature.objects.order_by("id").values_list("id", flat=True)) == ids
