"""python manage.py load_pot [--force] — determinants, Cali's real (partial) plan and the demo plans."""
from django.core.management.base import BaseCommand

from geosig import params
from geosig.errors import command_errors
from territorial.pot.services.loading import load_pot


class Command(BaseCommand):
    help = "Carga los determinantes ambientales, el plan real parcial de Cali y los planes DEMO (idempotente)."

    def add_arguments(self, parser):
        parser.add_argument("--force", action="store_true", help="recalcular determinantes y regenerar los planes demo")
        parser.add_argument("--slope-threshold", type=float, default=None, help="umbral de pendiente alta (grados)")
        parser.add_argument("--warm-now", action="store_true",
                            help="calcular aquí los conflictos del departamento en vez de encolarlos para el trabajador")

    def handle(self, *args, **opts):
        with command_errors():
            threshold = params.number(opts["slope_threshold"], "--slope-threshold", minimum=0, maximum=90,
                                      exclusive_minimum=True)
            report = load_pot(force=opts["force"], slope_threshold_deg=threshold, warm_now=opts["warm_now"])
        self.stdout.write(str(report))
