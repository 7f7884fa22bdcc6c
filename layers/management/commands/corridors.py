"""python manage.py corridors --cores runap-centroides --ids 17,21,214 --point-radius 1000 \
       --resistance derivada --cell-size 100 --width 30000 --output DIR
python manage.py corridors --cores nucleos.gpkg --resistance resistencia.tif --output DIR
python manage.py corridors --cores nucleos.zip --resistance cobertura.tif --table clases.csv --output DIR

Least-cost corridors, pinch points and network metrics between cores (a registry layer or a file); writes
GeoTIFF, GeoPackage, CSV and informe.json into DIR, named as Linkage Mapper names them (atomically: a failed
run leaves DIR untouched). A resistance GeoTIFF is analysed on its own grid unless --cell-size asks for another.
"""
import json
import shutil
from pathlib import Path

from django.core.management.base import BaseCommand

from geosig.errors import InvalidParameter, command_errors
from layers.corridors import inputs
from layers.models import Layer
from layers.corridors.runs import normalise
from layers.corridors.services import check_file_inputs, run_corridors

class Command(BaseCommand):
    help = "Corredores ecológicos entre núcleos (Linkage Mapper + teoría de circuitos) sobre capas del registro."

    def add_arguments(self, parser):
        parser.add_argument("--cores", required=True,
                            help="identificador (slug) de la capa de núcleos, o un archivo de núcleos (polígonos o "
                                 "puntos): GeoPackage, GeoJSON o Shapefile comprimido en .zip")
        parser.add_argument("--name-field", default=None, help="atributo con el nombre de cada núcleo (archivo)")
        parser.add_argument("--ids", default="", help="fid de los elementos a usar, separados por comas (vacío = todos)")
        parser.add_argument("--classes", default="", help="valores de la clase de la capa a usar, separados por «;»")
        parser.add_argument("--point-radius", type=float, default=None,
                            help="radio (m) del disco para núcleos puntuales; sin él, la celda bajo el punto")
        parser.add_argument("--resistance", default="derivada",
                            help="«derivada» (DEM + vías + centros poblados), un archivo JSON con la receta, un "
                                 "GeoTIFF de resistencia o (con --table) un GeoTIFF de cobertura")
        parser.add_argument("--table", default=None, help="CSV clase → resistencia para un GeoTIFF de cobertura")
        parser.add_argument("--cell-size", type=float, default=None,
                            help="tamaño de celda en metros (EPSG:9377); con un GeoTIFF, por defecto su propia celda "
                                 "(otro valor lo remuestrea)")
        parser.add_argument("--base", type=float, default=None, help="resistencia base de una receta (1 por defecto)")
        parser.add_argument("--project", default="corredores",
                            help="prefijo de los archivos de salida (nombre de proyecto de Linkage Mapper)")
        parser.add_argument("--width", type=float, default=10000.0,
                            help="ancho de corte del corredor en unidades de costo (resistencia × m; 10000 por defecto)")
        parser.add_argument("--max-link-cwd", type=float, default=None, help="descartar vínculos con CWD mayor")
        parser.add_argument("--dispersal", type=float, default=None, help="distancia de dispersión para IIC/PC (costo)")
        parser.add_argument("--area-field", default=None, help="atributo de área de los núcleos para IIC/PC")
        parser.add_argument("--margin", type=float, default=5000.0, help="margen alrededor de los núcleos (m)")
        parser.add_argument("--no-pinch", action="store_true", help="omitir los puntos de estrangulamiento")
        parser.add_argument("--connectivity", default=None, help="vecinos del circuito: 4 u 8 (8 por defecto)")
        parser.add_argument("--averaging", default=None,
                            help="promedio entre vecinos: resistance (por defecto) o conductance (Circuitscape)")
        parser.add_argument("--combine", default=None,
                            help="corriente sobre los vínculos: max (por defecto) o cumulative (suma, como Circuitscape)")
        parser.add_argument("--output", required=True, help="directorio de salida")

    def handle(self, *args, **o):
        with command_errors():
            # the same parser as the API: one set of names, ranges and messages
            p = normalise({
                "cores": self._cores(o), "resistance": self._resistance(o), "cell_size": o["cell_size"],
                "width": o["width"], "point_radius": o["point_radius"], "max_link_cwd": o["max_link_cwd"],
                "dispersal": o["dispersal"], "area_field": o["area_field"], "margin_m": o["margin"],
                "pinch": not o["no_pinch"], "base": o["base"], "project": o["project"],
                "circuit": {k: o[k] for k in ("connectivity", "averaging", "combine") if o[k] is not None},
            })
            check_file_inputs(p)  # cores outside the raster: said before the run starts
            out = Path(o["output"])
            tmp = out.with_name(f".{out.name}.tmp")
            shutil.rmtree(tmp, ignore_errors=True)
            try:
                report = run_corridors(
                    p["cores"], p["resistance"], p.get("cell_size"), p["width"], out_dir=tmp,
                    point_radius=p.get("point_radius"), max_link_cwd=p.get("max_link_cwd"),
                    dispersal=p.get("dispersal"), area_field=p.get("area_field"), margin_m=p["margin_m"],
                    pinch=p["pinch"], base=p.get("base", 1.0), project=p.get("project", "corredores"),
                    circuit=p.get("circuit"),
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

    @staticmethod
    def _cores(o) -> dict:
        """A registry slug, or a file (stored in the corridor input store after the safe readers opened it)."""
        value = o["cores"]
        path = Path(value)
        if path.suffix.lower() in {e for exts in inputs.KINDS.values() for e in exts} or path.exists():
            if not path.is_file():
                raise InvalidParameter(f"--cores: el archivo «{path.name}» no existe.")
            out = {"file": inputs.store(path, path.name, "cores")}
        else:
            out = {"layer": value, "ids": o["ids"],
                   "classes": [c.strip() for c in o["classes"].split(";") if c.strip()]}
        if o["name_field"]:
            out["name_field"] = o["name_field"]
        return out

    @staticmethod
    def _resistance(o):
        """«derivada», a JSON recipe, a resistance GeoTIFF, or a land-cover GeoTIFF with --table."""
        res = o["resistance"]
        if res == "derivada":
            if o["table"]:
                raise InvalidParameter("--table acompaña a un GeoTIFF de cobertura en --resistance, no a «derivada».")
            return res
        path = Path(res)
        if not path.is_file() and Layer.objects.filter(slug=res, kind=Layer.Kind.RASTER).exists():
            spec = {"layer": res}  # a registry raster, on its stored grid
            if o["table"]:
                spec["table"] = inputs.store(Path(o["table"]), Path(o["table"]).name, "table")
            return spec
        if not path.is_file():
            raise InvalidParameter(f"--resistance debe ser «derivada», una receta .json, un GeoTIFF o una capa ráster "
                                   f"del registro; «{path.name}» no existe.")
        ext = path.suffix.lower()
        if ext in inputs.KINDS["resistance"]:
            spec = {"raster": inputs.store(path, path.name, "landcover" if o["table"] else "resistance")}
            if o["table"]:
                spec["table"] = inputs.store(Path(o["table"]), Path(o["table"]).name, "table")
            return spec
        if ext != ".json":
            raise InvalidParameter(f"--resistance «{path.name}»: use «derivada», una receta .json o un GeoTIFF "
                                   "(.tif, .tiff).")
        if o["table"]:
            raise InvalidParameter("--table acompaña a un GeoTIFF de cobertura, no a una receta JSON (la receta "
                                   "lleva su tabla en «table»).")
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as exc:
            raise InvalidParameter(f"{path.name}: JSON no válido ({exc}).") from exc
