"""Import users' travel matrices, urban-function inventories and city attributes (CSV; see
cities/services/loading.py for the formats). Everything is validated before one transaction."""
from pathlib import Path

from django.core.management.base import BaseCommand

from cities.models import CityAttribute, FunctionInventory, TravelMatrix
from cities.services import loading
from geosig import params
from geosig.errors import DataFileError, command_errors


class Command(BaseCommand):
    help = "Importa una matriz de viaje, un inventario de funciones urbanas o atributos de ciudades (CSV)."

    def add_arguments(self, parser):
        parser.add_argument("kind", choices=["matrix", "functions", "attributes"])
        parser.add_argument("csv", help="Archivo CSV.")
        parser.add_argument("--name", default="", help="Nombre de la matriz o del inventario.")
        parser.add_argument("--source", default="", help="Fuente de los datos (obligatoria).")
        parser.add_argument("--matrix-kind", choices=["time", "distance"], default="time")
        parser.add_argument("--default", action="store_true", help="Usar la matriz como predeterminada.")
        parser.add_argument("--tolerance", type=float, default=0.05, help="Asimetría relativa tolerada.")
        parser.add_argument("--demo", action="store_true", help="Marcar el inventario como DEMO (no real).")

    def handle(self, *args, **o):
        path = Path(o["csv"])
        with command_errors():
            if not path.exists():
                raise DataFileError(f"No existe el archivo {path}.")
            model = {"matrix": TravelMatrix, "functions": FunctionInventory}.get(o["kind"], CityAttribute)
            source = params.model_text(o["source"], "--source", model, "source")  # as the upload API does
            name = params.model_text(o["name"], "--name", model, "name") if model is not CityAttribute else ""
            if o["kind"] == "matrix":
                tolerance = params.number(o["tolerance"], "--tolerance", minimum=0, maximum=1, required=True)
                m = loading.import_matrix(path, name, o["matrix_kind"], source, o["default"], tolerance)
                self.stdout.write(f"Matriz {m.name!r} importada: {len(m.codes)}×{len(m.codes)} ({m.unit}).")
            elif o["kind"] == "functions":
                inv = loading.import_functions(path, name, source, demo=o["demo"])
                self.stdout.write(f"Inventario {inv}: {inv.items.count()} registros.")
            else:
                n = loading.import_attributes(path, source)
                self.stdout.write(f"{n} atributos importados.")
