"""Create (or replace) a stored population scenario; list the stored ones."""
from django.core.management.base import BaseCommand

from cities.models import Scenario
from cities.services.report import parse_adjustments, save_scenario
from geosig.errors import command_errors


class Command(BaseCommand):
    help = ("Crea un escenario de población: tendencial (crecimiento ajustado 2012–2024 por municipio) u "
            "optimista/pesimista con ajustes en puntos porcentuales por año, p. ej. --adjust sur=-0.3 "
            "--adjust municipio:76109=+0.5.")

    def add_arguments(self, parser):
        parser.add_argument("name", nargs="?", help="Nombre (a-z, 0-9, -, _). Sin nombre: lista los escenarios.")
        parser.add_argument("--kind", choices=["trend", "optimistic", "pessimistic"], default="trend")
        parser.add_argument("--horizon", type=int, default=2035, help="Año horizonte.")
        parser.add_argument("--adjust", action="append", default=[], help="subregion=pp o municipio:DIVIPOLA=pp")
        parser.add_argument("--description", default="")
        parser.add_argument("--replace", action="store_true", help="Reemplazar si ya existe.")

    def handle(self, *args, **o):
        if not o["name"]:
            for s in Scenario.objects.prefetch_related("adjustments"):
                adj = ", ".join(f"{a.target_code}={a.growth_pp:+g}" for a in s.adjustments.all()) or "sin ajustes"
                self.stdout.write(f"{s.name}: {s.get_kind_display()}, horizonte {s.horizon_year} ({adj})")
            return
        with command_errors():
            sc = save_scenario(o["name"], o["kind"], o["horizon"], parse_adjustments(o["adjust"]),
                               o["description"], replace=o["replace"])
        self.stdout.write(f"Escenario guardado: {sc}")
