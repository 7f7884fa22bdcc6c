from pathlib import Path

from django.core.management.base import BaseCommand

from geosig.errors import command_errors
from territorial.services.indicators_import import import_indicators


class Command(BaseCommand):
    help = "Importa valores de indicadores desde CSV: divipola,indicator,year,value[,unit,name,source]."

    def add_arguments(self, parser):
        parser.add_argument("path", type=Path)
        parser.add_argument("--source", default="", help="Fuente por defecto para filas sin columna source.")

    def handle(self, *args, **o):
        with command_errors():
            report = import_indicators(o["path"], default_source=o["source"])
        self.stdout.write(str(report))
