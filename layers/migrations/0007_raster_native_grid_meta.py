"""Rasters are now stored in their source CRS and grid (issue 15). Rasters imported before were stored
reprojected to EPSG:4326 (nearest neighbour): their source grid is not on the server any more, so this
migration can only keep what exists. It records the stored grid (``crs``, ``transform``, ``native_bounds``)
in ``raster_meta`` of every raster layer, and for each raster whose source CRS was not EPSG:4326 it clears
the import fingerprint and says so in its import report: the next run of the loader (``load_layers`` for the
shipped layers) or a re-upload with «reemplazar» re-imports it from its source file on its own grid. The
shipped SRTM DEM is EPSG:4326 at the source, so it was already stored on its own grid.
"""
from pathlib import Path

from django.conf import settings
from django.db import migrations

NOTE = ("Guardado antes reproyectado a EPSG:4326 (vecino más cercano) por una versión anterior; vuelva a "
        "importarlo desde el archivo de origen para conservar su grilla y CRS propios.")


def record_native_grid(apps, schema_editor):
    import rasterio

    Layer = apps.get_model("layers", "Layer")
    for layer in Layer.objects.filter(kind="raster").exclude(raster_file=""):
        path = Path(settings.MEDIA_ROOT) / layer.raster_file
        if not path.is_file():
            continue  # nothing to read: the loader re-imports it
        with rasterio.open(path, driver="GTiff") as ds:
            epsg = ds.crs.to_epsg() if ds.crs else None
            meta = dict(layer.raster_meta or {}, crs=f"EPSG:{epsg}" if epsg else (ds.crs.to_wkt() if ds.crs else ""),
                        transform=list(ds.transform)[:6], native_bounds=list(ds.bounds))
        fields = ["raster_meta"]
        layer.raster_meta = meta
        if epsg == 4326 and layer.source_crs and not layer.source_crs.startswith("EPSG:4326"):
            report = dict(layer.import_report or {})
            report["fingerprint"] = ""  # the loader's «unchanged» check no longer matches: it re-imports
            report["notes"] = list(report.get("notes") or []) + [NOTE]
            layer.import_report = report
            fields.append("import_report")
        layer.save(update_fields=fields)


class Migration(migrations.Migration):
    dependencies = [("layers", "0006_corridor_cancel_any")]
    operations = [migrations.RunPython(record_native_grid, migrations.RunPython.noop)]
