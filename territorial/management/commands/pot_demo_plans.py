"""python manage.py pot_demo_plans [--municipality 76001 ...] [--rebuild]"""
from django.core.management.base import BaseCommand

from geosig.errors import command_errors
from territorial.pot.services.loading import generate_demo_plans


class Command(BaseCommand):
    help = "Genera planes POT de DEMOSTRACIÓN a partir de datos reales (marcados como demo)."

    def add_arguments(self, parser):
        parser.add_argument("--municipality", nargs="*", help="códigos DIVIPOLA (por defecto los 42)")
        parser.add_argument("--rebuild", action="store_true", help="regenerar los que ya existen")

    def handle(self, *args, **opts):
        with command_errors():
            report = generate_demo_plans(opts["municipality"], rebuild=opts["rebuild"])
        self.stdout.write(str(report))
