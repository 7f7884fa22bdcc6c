"""python manage.py circuitscape CONFIG.ini [--base-dir DIR] [--output-dir DIR]

Runs a Circuitscape raster configuration (pairwise, one-to-all, all-to-one, advanced) and writes Circuitscape's
outputs with its names: <output_file stem>_resistances.out, _resistances_3columns.out, _cum_curmap.asc,
_curmap_<a>_<b>.asc, _voltmap_<a>_<b>.asc… Relative paths of the .ini are read from --base-dir (default: the
current folder, as Circuitscape does); --output-dir replaces the folder of output_file.
"""
from django.core.management.base import BaseCommand

from geosig.errors import command_errors
from layers.corridors.circuitscape_files import run_config


class Command(BaseCommand):
    help = "Ejecuta una configuración ráster de Circuitscape (.ini) y escribe sus salidas con sus nombres."

    def add_arguments(self, parser):
        parser.add_argument("config", help="archivo .ini de Circuitscape (modo ráster)")
        parser.add_argument("--base-dir", default=None,
                            help="carpeta desde la que se leen las rutas relativas del .ini (por defecto, la actual)")
        parser.add_argument("--output-dir", default=None, help="carpeta de salida (reemplaza la de output_file)")

    def handle(self, *args, **o):
        with command_errors():
            report = run_config(o["config"], base_dir=o["base_dir"], output_dir=o["output_dir"])
        w = self.stdout.write
        w(f"Circuitscape {report['mode']}: {report['nodes']} nodos, {report['solves']} soluciones, "
          f"{report['factorisations']} factorizaciones, {report['seconds']} s.")
        table = report["resistances"]
        if table is not None:
            w("Resistencias efectivas (−1: sin conexión):")
            for row in table:
                w("  " + " ".join(f"{x:g}" for x in row))
        for note in report["notes"]:
            w(f"Nota: {note}")
        w("Archivos:")
        for f in report["files"]:
            w(f"  {f}")
