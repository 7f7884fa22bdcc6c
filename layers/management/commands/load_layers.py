"""python manage.py load_layers — the shipped environmental layers (idempotent)."""
from django.core.management.base import BaseCommand

from geosig.errors import command_errors
from layers.services.shipped import load_layers


class Command(BaseCommand):
    help = "Carga las capas ambientales reales de data/raw y las derivadas del DEM (se puede repetir sin duplicar)."

    def add_arguments(self, parser):
        parser.add_argument("--raw-dir", help="Carpeta de datos (por defecto GEOSIG_RAW_DIR).")

    def handle(self, *args, **o):
        with command_errors():
            report = load_layers(o["raw_dir"])
        self.stdout.write(str(report))
