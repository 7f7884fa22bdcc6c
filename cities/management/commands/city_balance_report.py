"""Write the city-system balance report: one year/scenario, or a batch over years × scenarios."""
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from cities.services.balance import BalanceParams
from cities.services.outputs import FORMATS, get_format, municipality_outlines
from cities.services.report import balance_report, batch_reports
from geosig import params as P
from geosig.errors import InvalidParameter, command_errors


def _named_values(items: list[str], valid) -> dict:
    """``--param NOMBRE=VALOR`` (repeatable) → {nombre: valor}: a typo is an error, not a silent default."""
    out = {}
    for item in P.text_list(list(items), "--param", max_length=200):
        name, sep, value = item.partition("=")
        if not sep or name.strip() not in valid:
            raise InvalidParameter(f"--param {item!r}: use NOMBRE=VALOR con NOMBRE entre {', '.join(valid)}.")
        out[name.strip()] = value
    return out


class Command(BaseCommand):
    help = ("Informe de equilibrio del sistema de ciudades (html, pdf, csv, xlsx, json). "
            "Con --all-years/--all-scenarios escribe un archivo por combinación en la carpeta --output.")

    def add_arguments(self, parser):
        parser.add_argument("--year", type=int, default=None, help="Año (cabecera: 2018; total: 2012–2024).")
        parser.add_argument("--basis", default="cabecera", help="cabecera (urbana) o total.")
        parser.add_argument("--scenario", default=None, help="Nombre de un escenario guardado.")
        parser.add_argument("--compare", type=int, default=None, help="Año con el que comparar (misma base).")
        parser.add_argument("--matrix", default=None, help="Matriz de viaje (por defecto la cargada por load_cities).")
        parser.add_argument("--format", default="html", choices=sorted(FORMATS))
        parser.add_argument("--output", required=True, help="Archivo de salida (o carpeta en modo lote).")
        parser.add_argument("--all-years", action="store_true", help="Lote: todos los años de la base.")
        parser.add_argument("--all-scenarios", action="store_true", help="Lote: además, todos los escenarios.")
        parser.add_argument("--param", action="append", default=[], metavar="NOMBRE=VALOR",
                            help="Parámetro del equilibrio, p. ej. intermediate_min=30000 (repetible).")

    def handle(self, *args, **o):
        with command_errors():
            params = BalanceParams.from_mapping(_named_values(o["param"], BalanceParams.__dataclass_fields__))
            fmt = get_format(o["format"])
            out = Path(o["output"])
            outlines = municipality_outlines()
            if o["all_years"] or o["all_scenarios"]:
                out.mkdir(parents=True, exist_ok=True)
                written = []
                for name, report in batch_reports(o["basis"], params, o["all_years"], o["all_scenarios"],
                                                  o["matrix"], progress=True):
                    path = out / f"{name}.{fmt.extension}"
                    path.write_bytes(fmt.render(report, outlines))
                    written.append(path)
                self.stdout.write(f"{len(written)} informes escritos en {out}.")
                return
            report = balance_report(o["year"], o["basis"], o["scenario"], params, o["matrix"], o["compare"],
                                    with_places=True)
            if out.is_dir():
                raise CommandError(f"{out} es una carpeta; indique un archivo.")
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_bytes(fmt.render(report, outlines))
        self._summary(report, out)

    def _summary(self, report, out):
        self.stdout.write(f"Informe: {report.meta['label']}")
        for key in ("zipf_gi", "primacy_2", "gini", "theil", "theil_between", "hhi", "entropy"):
            m = report.measure(key)
            self.stdout.write(f"  {m.label}: {m.value} {m.unit}" + (f" ({m.note})" if m.note else ""))
        self.stdout.write(f"Fuente de población: {report.meta['population_source']}")
        self.stdout.write(f"Escrito: {out}")
