"""load_cities and the importers, on the real data and on bad files (nothing half-saved)."""
import numpy as np
import pandas as pd
import pytest
from django.conf import settings

from cities.models import City, CityAttribute, CityFunction, FunctionInventory, TravelMatrix
from cities.services import loading
from geosig.errors import InvalidParameter

RAW = settings.GEOSIG_RAW_DIR


def test_load_cities_counts_and_is_idempotent(cities):
    import json

    src = json.loads((RAW / loading.CENTRES_FILE).read_text())["features"]
    assert City.objects.count() == len(src) == 569
    assert City.objects.filter(is_cabecera=True).count() == 42
    assert City.objects.filter(kind="C").count() == sum(
        f["properties"]["tipo_centro_poblado"].endswith("(C)") for f in src)
    cali = City.objects.get(code="76001000")
    assert cali.is_cabecera and cali.municipality.divipola == "76001"
    again = loading.load_cities()
    assert (again.created, again.updated, again.unchanged, again.matrix_changed) == (0, 0, 569, False)


def test_default_matrix_equals_the_csv(cities):
    tm = TravelMatrix.objects.get(is_default=True)
    df = pd.read_csv(RAW / loading.MATRIX_FILE, dtype={"from_divipola": str}).set_index("from_divipola")
    m = np.array(tm.values).reshape(42, 42)
    i, j = tm.codes.index("76001"), tm.codes.index("76020")
    assert m[i, j] == df.loc["76001", "76020"] == 2.1
    assert tm.unit == "h" and "modelados" in tm.source


def _wide(codes, m):
    df = pd.DataFrame(m, columns=codes)
    df.insert(0, "codigo", codes)
    return df.to_csv(index=False)


def test_import_matrix_long_and_wide(cities):
    codes = sorted(c.municipality.divipola for c in City.objects.filter(is_cabecera=True))
    m = np.abs(np.subtract.outer(np.arange(42.0), np.arange(42.0)))
    tm = loading.import_matrix(_wide(codes, m), "prueba", "distance", "prueba de usuario")
    assert tm.kind == "distance" and len(tm.codes) == 42 and tm.values[1] == 1.0
    rows = [(a, b, m[i, j]) for i, a in enumerate(codes) for j, b in enumerate(codes)]
    csv = "origen,destino,valor\n" + "\n".join(f"{a},{b},{v}" for a, b, v in rows)
    assert loading.import_matrix(csv, "prueba-larga", "time", "x").values == tm.values


@pytest.mark.parametrize("mutate, msg", [
    (lambda codes, m: (codes, m[:, :-1]), "no es cuadrada"),
    (lambda codes, m: (codes, m + np.triu(np.ones_like(m), 1)), "asimétrica"),
    (lambda codes, m: (codes[:-1] + ["99999"], m), "desconocidos"),
    (lambda codes, m: (codes[:-1], m[:-1, :-1]), "faltan municipios"),
])
def test_bad_matrices_save_nothing(cities, mutate, msg):
    codes = sorted(c.municipality.divipola for c in City.objects.filter(is_cabecera=True))
    m = np.abs(np.subtract.outer(np.arange(42.0), np.arange(42.0)))
    codes2, m2 = mutate(list(codes), m)
    if m2.shape[1] != m2.shape[0]:
        df = pd.DataFrame(m2, columns=codes2[:m2.shape[1]])
        df.insert(0, "codigo", codes2)
        text = df.to_csv(index=False)
    else:
        text = _wide(codes2, m2)
    before = TravelMatrix.objects.count()
    with pytest.raises(InvalidParameter, match=msg):
        loading.import_matrix(text, "mala", "time", "x")
    assert TravelMatrix.objects.count() == before


def test_import_functions_and_errors(cities):
    csv = ("codigo,funcion,cantidad\n76001,hospital nivel 3,4\n76001000,universidad,10\n"
           "76520,hospital nivel 3,1\n76001001,puesto de salud,1\n")
    inv = loading.import_functions(csv, "prueba", "inventario de prueba del test")
    assert CityFunction.objects.filter(inventory=inv).count() == 4
    assert CityFunction.objects.get(inventory=inv, function="universidad").city.code == "76001000"
    n = FunctionInventory.objects.count()
    with pytest.raises(InvalidParameter, match="desconocidos 99999"):
        loading.import_functions("codigo,funcion,cantidad\n99999,x,1\n", "mala", "x")
    with pytest.raises(InvalidParameter, match="negativas"):
        loading.import_functions("codigo,funcion,cantidad\n76001,x,-1\n", "mala", "x")
    with pytest.raises(InvalidParameter, match="fuente"):
        loading.import_functions(csv, "sin-fuente", "")
    with pytest.raises(InvalidParameter, match="faltan las columnas cantidad"):
        loading.import_functions("codigo,funcion\n76001,x\n", "mala", "x")
    assert FunctionInventory.objects.count() == n


def test_import_attributes(cities):
    n = loading.import_attributes("codigo,atributo,anio,valor,unidad,fuente\n76001001,poblacion,2018,1234,hab,encuesta X\n")
    assert n == 1 and CityAttribute.objects.get(city__code="76001001").value == 1234
    with pytest.raises(InvalidParameter, match="nulas o negativas"):
        loading.import_attributes("codigo,atributo,anio,valor,unidad,fuente\n76001001,poblacion,2019,0,hab,x\n")
    assert CityAttribute.objects.count() == 1


def test_load_cities_bad_file_changes_nothing(cities, tmp_path):
    import json
    import shutil

    (tmp_path / "network").mkdir()
    shutil.copy(RAW / loading.MATRIX_FILE, tmp_path / loading.MATRIX_FILE)
    data = json.loads((RAW / loading.CENTRES_FILE).read_text())
    data["features"][0]["properties"]["nom_centro_poblado"] = "CAMBIADO"
    data["features"][-1]["properties"]["tipo_centro_poblado"] = "BARRIO (B)"  # unknown type → whole file refused
    (tmp_path / loading.CENTRES_FILE).write_text(json.dumps(data))
    from geosig.errors import DataFileError

    with pytest.raises(DataFileError, match="tipos de centro poblado desconocidos"):
        loading.load_cities(tmp_path)
    assert City.objects.get(code="76001000").name == "Santiago de Cali"


def test_road_routes_for_display():
    roads = loading.road_routes()
    assert len({r["name"] for r in roads["routes"]}) > 5 and "licencia desconocida" in roads["source"]


def test_one_csv_reader_for_bytes_path_and_text(tmp_path):
    text = "codigo,funcion,cantidad\n76001,aeropuerto,1\n"
    path = tmp_path / "f.csv"
    path.write_text(text)
    frames = [loading._read_csv(s, "el inventario") for s in (text.encode(), path, str(path), text)]
    for df in frames:
        pd.testing.assert_frame_equal(df, frames[0])
    assert frames[0].to_dict("records") == [{"codigo": "76001", "funcion": "aeropuerto", "cantidad": "1"}]
    with pytest.raises(InvalidParameter, match="No se puede leer el inventario"):
        loading._read_csv(tmp_path / "no_existe.csv", "el inventario")
