"""python manage.py plan_demo [--rebuild | --remove]"""
from django.core.management.base import BaseCommand

from geosig.errors import command_errors
from plan.services import demo


class Command(BaseCommand):
    help = "Genera (o quita) el portafolio DEMO del seguimiento del plan: no son proyectos reales."

    def add_arguments(self, parser):
        group = parser.add_mutually_exclusive_group()
        group.add_argument("--rebuild", action="store_true", help="regenerar el portafolio DEMO")
        group.add_argument("--remove", action="store_true", help="quitar todo lo DEMO (y sólo eso)")

    def handle(self, *args, **opts):
        with command_errors():
            report = demo.remove() if opts["remove"] else demo.generate(rebuild=opts["rebuild"])
        self.stdout.write(str(report))
