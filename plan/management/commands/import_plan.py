"""python manage.py import_plan FILE --kind programs|projects|budgets|goals|reports --user USUARIO"""
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from geosig.errors import command_errors
from plan.services import importing


class Command(BaseCommand):
    help = ("Importa programas, proyectos, presupuestos, metas o reportes de avance desde un CSV/XLSX de plantilla; "
            "un archivo con una fila mala no escribe nada.")

    def add_arguments(self, parser):
        parser.add_argument("file")
        parser.add_argument("--kind", required=True, choices=list(importing.KINDS))
        parser.add_argument("--user", required=True, help="usuario a nombre de quien se escribe (versiones)")

    def handle(self, *args, **opts):
        user = get_user_model().objects.filter(username=opts["user"]).first()
        if user is None:
            raise CommandError(f"No existe el usuario «{opts['user']}».")
        path = Path(opts["file"])
        if not path.is_file():
            raise CommandError(f"No existe el archivo «{path.name}».")
        with command_errors():
            report = importing.import_file(user, opts["kind"], path.read_bytes(), path.name)
        self.stdout.write(str(report))
