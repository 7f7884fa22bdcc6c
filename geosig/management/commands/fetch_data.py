from pathlib import Path

from django.core.management.base import BaseCommand

from geosig.datafiles import fetch_data
from geosig.errors import command_errors


class Command(BaseCommand):
    help = "Copia o descarga los datos del manifiesto data/raw/MANIFEST.csv y verifica sus sumas sha256."

    def add_arguments(self, parser):
        parser.add_argument("--mirror", type=Path, help="Carpeta espejo (por defecto GEOSIG_DATA_MIRROR).")
        parser.add_argument("--base-url", help="URL base de descarga (por defecto GEOSIG_DATA_BASE_URL).")

    def handle(self, *args, **opts):
        with command_errors():
            report = fetch_data(mirror=opts["mirror"], base_url=opts["base_url"])
        self.stdout.write(str(report))
