from django.core.management.base import BaseCommand

from cities.services.loading import load_cities
from geosig.errors import command_errors


class Command(BaseCommand):
    help = "Carga los 569 centros poblados (DIVIPOLA 2017) y la matriz de tiempos de viaje por defecto (idempotente)."

    def add_arguments(self, parser):
        parser.add_argument("--data-dir", default=None, help="Carpeta de datos (por defecto GEOSIG_RAW_DIR).")

    def handle(self, *args, **opts):
        with command_errors():
            report = load_cities(opts["data_dir"])
        self.stdout.write(str(report))
