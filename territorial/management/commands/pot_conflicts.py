"""python manage.py pot_conflicts [--municipality 76001 | --plan ID] [--mode internal ...] [--format text|json|csv|gpkg|html|pdf] [--output FILE]"""
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

from geosig.errors import InvalidParameter, command_errors
from territorial.pot.services.conflicts import analyse_conflicts
from territorial.pot.services.reports import render_report


class Command(BaseCommand):
    help = "Conflictos de los planes POT (internos, limítrofes, determinantes) de un plan, un municipio o el departamento."

    def add_arguments(self, parser):
        parser.add_argument("--municipality", help="código DIVIPOLA (sin él: todo el departamento)")
        parser.add_argument("--plan", type=int, help="id de un plan")
        parser.add_argument("--mode", nargs="*", help="internal, cross_border, determinants (por defecto todos)")
        parser.add_argument("--ronda", type=float, default=None, help="ancho de la ronda hídrica en m (30)")
        parser.add_argument("--buffer", type=float, default=None, help="distancia limítrofe en m (200)")
        parser.add_argument("--format", default="text", help="text, json, csv, gpkg, html, pdf")
        parser.add_argument("--output", help="archivo de salida (obligatorio para gpkg y pdf)")

    def handle(self, *args, **o):
        with command_errors():
            # The command line is an administrator's tool: it sees every plan, like an analyst.
            user = get_user_model()(is_superuser=True, is_active=True)
            report = analyse_conflicts(user, plan_id=o["plan"], municipality=o["municipality"], modes=o["mode"],
                                       ronda_m=o["ronda"], buffer_m=o["buffer"], with_geometry=o["format"] not in ("text", "csv"))
            if o["format"] == "text":
                self.stdout.write(str(report))
                return
            content, fmt = render_report(report, o["format"])
            if o["output"]:
                Path(o["output"]).write_bytes(content)
                self.stdout.write(str(report))
                self.stdout.write(f"Informe escrito en {o['output']}")
            elif not fmt.text:
                raise InvalidParameter(f"El formato {fmt.key} es binario: indique --output archivo.{fmt.extension}.")
            else:
                self.stdout.write(content.decode())
