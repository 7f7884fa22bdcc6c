from pathlib import Path

from django.core.management.base import BaseCommand

from geosig.errors import command_errors
from territorial.services.loading import load_territory


class Command(BaseCommand):
    help = "Carga (o actualiza) municipios, subregiones, departamento e indicadores desde data/raw."

    def add_arguments(self, parser):
        parser.add_argument("--data-dir", type=Path, help="Carpeta de datos (por defecto data/raw).")
        parser.add_argument("--no-repair", action="store_true", help="Rechazar geometrías inválidas en vez de repararlas.")
        parser.add_argument("--reset-subregions", action="store_true",
                            help="Volver a la asignación de subregiones de la fuente (descarta ediciones del admin).")

    def handle(self, *args, **o):
        with command_errors():
            report = load_territory(o["data_dir"], repair=not o["no_repair"], reset_subregions=o["reset_subregions"])
        self.stdout.write(str(report))
