"""python manage.py rebuild_partitions [PARTITION …] [--layer SLUG …]"""
from django.core.management.base import BaseCommand

from geosig.errors import command_errors
from layers.partitions import PARTITIONS
from layers.services.partitions import rebuild_partition_pieces


class Command(BaseCommand):
    help = ("Vuelve a cortar las piezas de las capas de polígonos por los miembros de una partición de reporte "
            "(p. ej. «municipios»): para capas importadas antes de la partición o tras cambiar sus miembros.")

    def add_arguments(self, parser):
        parser.add_argument("partition", nargs="*", help="Particiones (por defecto todas las registradas).")
        parser.add_argument("--layer", action="append", dest="layers", help="Identificador de capa (repetible).")

    def handle(self, *args, **o):
        with command_errors():
            for name in o["partition"] or sorted(PARTITIONS):
                r = rebuild_partition_pieces(name, layers=o["layers"])
                self.stdout.write(f"Partición «{r['partition']}»: {r['members']} miembros, {r['layers']} capas, "
                                  f"{r['pieces']} piezas guardadas.")
