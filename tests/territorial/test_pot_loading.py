"""Real data and demo plans: Cali's POT 2014 urban perimeter as a real partial plan, the demo generator
sized from DANE urban population, the management commands and every report format."""
import io
import subprocess

import pytest
import shapely
from django.core.management import CommandError, call_command

from territorial.pot.services.loading import URBAN_DENSITY_HAB_HA, generate_demo_plans, load_cali_plan
from territorial.pot.services.validation import to_metres

pytestmark = pytest.mark.django_db


def test_cali_real_plan_from_pot_2014_perimeter(territory):
    from territorial.pot.models import Plan

    report = load_cali_plan()
    plan = Plan.objects.get(municipality__divipola="76001", is_demo=False)
    zone = plan.zones.get()
    assert zone.soil_class == "urbano" and plan.status == "aprobada"
    assert "POT 2014" in plan.source and "CC BY-SA" in plan.source
    # data README: 119.21 km² geodesic; EPSG:9377 is conformal, so within a few tenths of a percent
    assert zone.area_m2 / 1e6 == pytest.approx(119.21, rel=0.005)
    # README: 99.8 % inside the MGN polygon → the outside part is reported as a finding, not clipped
    assert "fuera del límite municipal" in str(report)
    outside = [ln for ln in str(report).splitlines() if "fuera del límite" in ln][0]
    assert any(f"(0,{d}\u00a0%)" in outside for d in (1, 2, 3))  # es-CO: decimal comma
    assert "ya cargado" in str(load_cali_plan())  # idempotent


def test_demo_plan_sized_from_urban_population(territory):
    from territorial.models import IndicatorValue, Municipality
    from territorial.pot.models import Plan

    generate_demo_plans(["76520"])  # Palmira; no determinants loaded in tests → no protection zone
    plan = Plan.objects.get(municipality__divipola="76520", is_demo=True)
    assert plan.name.startswith("Plan DEMO") and "DEMO" in plan.source and plan.status == "aprobada"
    pop = IndicatorValue.objects.get(indicator__code="poblacion_cabecera", year=2018, municipality__divipola="76520").value
    urban = plan.zones.get(soil_class="urbano")
    # a 128-gon inscribed in the circle of area pop / density: 0.04 % smaller than the circle
    assert urban.area_m2 == pytest.approx(pop / URBAN_DENSITY_HAB_HA * 10_000, rel=0.001)
    assert plan.zones.get(soil_class="expansion_urbana").area_m2 == pytest.approx(0.25 * urban.area_m2, rel=0.01)
    muni = Municipality.objects.get(divipola="76520")
    total = sum(z.area_m2 for z in plan.zones.all())
    assert total == pytest.approx(to_metres(shapely.from_wkb(bytes(muni.geom.wkb))).area, rel=1e-6)
    assert "0 generados" in str(generate_demo_plans(["76520"]))  # kept on rerun


def test_pot_conflicts_command(territory, tmp_path):
    generate_demo_plans(["76520", "76364"])
    out = io.StringIO()
    call_command("pot_conflicts", municipality="76520", stdout=out)
    text = out.getvalue()
    assert "Palmira (76520)" in text and "DEMO" in text
    with pytest.raises(CommandError, match="Valores válidos: internal, cross_border, determinants"):
        call_command("pot_conflicts", mode=["nada"], stdout=io.StringIO())
    with pytest.raises(CommandError, match="--output"):
        call_command("pot_conflicts", municipality="76520", format="pdf", stdout=io.StringIO())
    pdf = tmp_path / "c.pdf"
    call_command("pot_conflicts", municipality="76520", format="pdf", output=str(pdf), stdout=io.StringIO())
    assert pdf.read_bytes()[:5] == b"%PDF-"
    txt = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True).stdout
    assert "DEMO" in txt and "Palmira" in txt
    gpkg = tmp_path / "c.gpkg"
    call_command("pot_conflicts", municipality="76520", format="gpkg", output=str(gpkg), stdout=io.StringIO())
    import pyogrio

    assert "resumen" in [name for name, _ in pyogrio.list_layers(gpkg)]
    out = io.StringIO()
    call_command("pot_conflicts", municipality="76520", format="csv", stdout=out)
    assert out.getvalue().startswith("kind,verdict,municipality")


def test_determinants_overlay_api(client, territory):
    from django.contrib.gis.geos import GEOSGeometry
    from shapely.geometry import box

    from territorial.models import Municipality
    from territorial.pot.models import Determinant, DeterminantPiece
    from territorial.pot.services.validation import to_metres as tm

    cab = tm(shapely.from_wkb(bytes(Municipality.objects.get(divipola="76001").cabecera.wkb)))
    det = Determinant.objects.create(code="prueba_paramo", name="Páramo de prueba", kind="polygon", piece_count=1)
    DeterminantPiece.objects.create(determinant=det, geom_m=GEOSGeometry(
        box(cab.x, cab.y, cab.x + 1000, cab.y + 1000).wkt, srid=9377))
    body = client.get("/api/v1/pot/determinants/?municipality=76001").json()
    feats = [f for f in body["features"] if f["properties"]["code"] == "prueba_paramo"]
    assert len(feats) == 1
    back = tm(shapely.geometry.shape(feats[0]["geometry"]))
    assert back.area == pytest.approx(1_000_000, rel=1e-4)  # display copy: 6 decimals ≈ 0.1 m
    assert client.get("/api/v1/pot/determinants/?municipality=00000").status_code == 404
