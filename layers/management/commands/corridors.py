"""python manage.py corridors --cores runap-centroides --ids 17,21,214 --point-radius 1000 \
       --resistance derivada --cell-size 100 --width 30000 --output DIR

Least-cost corridors, pinch points and network metrics between registry cores; writes GeoTIFF, GeoPackage,
CSV and informe.json into DIR (atomically: a failed run leaves DIR untouched).
"""
import json
import shutil
from pathlib import Path

from django.core.management.base import BaseCommand

from geosig.errors import InvalidParameter, command_errors
from layers.corridors.runs import normalise
from layers.corridors.services import run_corridors


class Command(BaseCommand):
    help = "Corredores ecológicos entre núcleos (Linkage Mapper + teoría de circuitos) sobre capas del registro."

    def add_arguments(self, parser):
        parser.add_argument("--cores", required=True, help="identificador (slug) de la capa de núcleos (polígonos o puntos)")
        parser.add_argument("--ids", default="", help="fid de los elementos a usar, separados por comas (vacío = todos)")
        parser.add_argument("--classes", default="", help="valores de la clase de la capa a usar, separados por «;»")
        parser.add_argument("--point-radius", type=float, default=None,
                            help="radio (m) del disco para núcleos puntuales; sin él, la celda bajo el punto")
        parser.add_argument("--resistance", default="derivada",
                            help="«derivada» (DEM + vías + centros poblados) o un archivo JSON con la receta")
        parser.add_argument("--cell-size", type=float, required=True, help="tamaño de celda en metros (EPSG:9377)")
        parser.add_argument("--width", type=float, default=10000.0,
                            help="ancho de corte del corredor en unidades de costo (resistencia × m; 10000 por defecto)")
        parser.add_argument("--max-link-cwd", type=float, default=None, help="descartar vínculos con CWD mayor")
        parser.add_argument("--dispersal", type=float, default=None, help="distancia de dispersión para IIC/PC (costo)")
        parser.add_argument("--area-field", default=None, help="atributo de área de los núcleos para IIC/PC")
        parser.add_argument("--margin", type=float, default=5000.0, help="margen alrededor de los núcleos (m)")
        parser.add_argument("--no-pinch", action="store_true", help="omitir los puntos de estrangulamiento")
        parser.add_argument("--output", required=True, help="directorio de salida")

    def handle(self, *args, **o):
        with command_errors():
            res = o["resistance"]
            if res != "derivada":
                path = Path(res)
                if not path.is_file():
                    raise InvalidParameter(f"--resistance debe ser «derivada» o un archivo JSON; «{res}» no existe.")
                try:
                    res = json.loads(path.read_text(encoding="utf-8"))
                except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as exc:
                    raise InvalidParameter(f"{path}: JSON no válido ({exc}).") from exc
            # the same parser as the API: one set of names, ranges and messages
            p = normalise({
                "cores": {"layer": o["cores"], "ids": o["ids"],
                          "classes": [c.strip() for c in o["classes"].split(";") if c.strip()]},
                "resistance": res, "cell_size": o["cell_size"], "width": o["width"],
                "point_radius": o["point_radius"], "max_link_cwd": o["max_link_cwd"], "dispersal": o["dispersal"],
                "area_field": o["area_field"], "margin_m": o["margin"], "pinch": not o["no_pinch"],
            })
            out = Path(o["output"])
            tmp = out.with_name(f".{out.name}.tmp")
            shutil.rmtree(tmp, ignore_errors=True)
            try:
                report = run_corridors(
                    p["cores"], p["resistance"], p["cell_size"], p["width"], out_dir=tmp,
                    point_radius=p.get("point_radius"), max_link_cwd=p.get("max_link_cwd"),
                    dispersal=p.get("dispersal"), area_field=p.get("area_field"), margin_m=p["margin_m"],
                    pinch=p["pinch"],
                    progress=lambda p, m: self.stderr.write(f"[{p:3d} %] {m}") if o["verbosity"] > 1 else None,
                )
            except BaseException:
                shutil.rmtree(tmp, ignore_errors=True)
                raise
            out.mkdir(parents=True, exist_ok=True)
            for f in tmp.iterdir():
                f.replace(out / f.name)
            tmp.rmdir()
            report.out_dir = out
        self.stdout.write(str(report))
