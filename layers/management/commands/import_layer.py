"""python manage.py import_layer PATH [--layer NAME] [--theme TEMA] [--srid N] [--invalid repair|reject]"""
from django.core.management.base import BaseCommand

from geosig import params
from geosig.errors import command_errors
from layers.models import Layer, Theme
from layers.services.importing import INVALID_POLICIES, import_layer
from layers.uploads import upload_options


class Command(BaseCommand):
    help = "Importa una capa ambiental (GeoPackage, Shapefile en zip, GeoJSON, KML o GeoTIFF) y explica qué reparó."

    def add_arguments(self, parser):
        parser.add_argument("path")
        parser.add_argument("--layer", help="Capa a importar de un archivo con varias (GeoPackage, KML, zip).")
        parser.add_argument("--theme", default=Theme.OTRO, help=f"Tema: {', '.join(Theme.values)}.")
        parser.add_argument("--srid", type=int, help="EPSG a suponer si el archivo no declara CRS (p. ej. 3115).")
        parser.add_argument("--invalid", choices=INVALID_POLICIES, help="Geometrías inválidas: reparar o rechazar.")
        parser.add_argument("--encoding", help="Codificación del DBF si no trae .cpg (p. ej. latin-1).")
        parser.add_argument("--title", help="Título de la capa.")
        parser.add_argument("--slug", help="Identificador de la capa.")
        parser.add_argument("--source", default="", help="Fuente de los datos.")
        parser.add_argument("--licence", default="", help="Licencia.")
        parser.add_argument("--date", default="", help="Fecha de los datos.")
        parser.add_argument("--class-field", help="Atributo que define las clases (estilo y superposición).")
        parser.add_argument("--replace", action="store_true", help="Reemplazar una capa existente con el mismo identificador.")

    def handle(self, *args, **o):
        with command_errors():
            # the same checks as the upload form (types, choices, the model's max_length)
            options = upload_options({"theme": o["theme"], "layer": o["layer"], "srid": o["srid"],
                                      "invalid": o["invalid"], "encoding": o["encoding"], "title": o["title"],
                                      "source": o["source"], "licence": o["licence"], "data_date": o["date"]})
            for key in ("slug", "class_field"):
                value = params.model_text(o[key], key, Layer)
                if value:
                    options["metadata"][key] = value
            report = import_layer(o["path"], replace=o["replace"], **options)
        self.stdout.write(str(report))
