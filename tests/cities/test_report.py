"""balance_report on the real data, checked against values read independently from the database."""
import numpy as np
import pytest
from inequality.gini import Gini
from inequality.theil import TheilD

from cities.models import Scenario
from cities.services.balance import BalanceParams
from cities.services.report import balance_report, save_scenario
from geosig.errors import ConflictError, InvalidParameter
from territorial.models import IndicatorValue


def _pops(code, year):
    return dict(IndicatorValue.objects.filter(indicator__code=code, year=year)
                .values_list("municipality__divipola", "value"))


def test_real_2018_cali_rank_one_and_primacy(cities):
    r = balance_report(2018, "cabecera")
    pops = _pops("poblacion_cabecera", 2018)
    first, second = sorted(pops.values(), reverse=True)[:2]
    assert pops["76001"] == first  # Cali is the largest cabecera
    top = r.table("municipios").rows[0]
    assert (top["rank"], top["code"], top["name"]) == (1, "76001", "Cali")
    assert r.measure("primacy_2").value == pytest.approx(first / second, abs=1e-4)
    assert r.meta["year"] == 2018 and r.meta["basis"] == "cabecera"
    assert "CNPV 2018" in r.meta["population_source"]


def test_real_2018_concentration_matches_pysal(cities):
    r = balance_report(2018, "total")
    pops = _pops("poblacion_total", 2018)
    codes = sorted(pops)
    y = np.array([pops[c] for c in codes])
    sub = dict(cities.filter(is_cabecera=True).values_list("municipality__divipola", "municipality__subregion__code"))
    g = np.array([sub[c] for c in codes])
    assert r.measure("gini").value == pytest.approx(Gini(y).g, abs=1e-4)
    ref = TheilD(y, g)
    assert r.theil["total"] == pytest.approx(float(ref.T), abs=1e-4)
    assert r.theil["between"] == pytest.approx(float(np.ravel(ref.bg)[0]), abs=1e-4)
    assert r.theil["between"] + r.theil["within"] == pytest.approx(r.theil["total"], abs=2e-4)
    assert r.measure("population").value == pytest.approx(4_475_886)  # DANE 2018 Valle total (data README)


def test_subregion_table_sums(cities):
    r = balance_report(2018, "cabecera")
    rows = r.table("subregiones").rows
    assert [x["code"] for x in rows][-1] == "total"
    assert sum(x["population"] for x in rows[:-1]) == pytest.approx(rows[-1]["population"])
    assert sum(x["municipalities"] for x in rows[:-1]) == 42
    assert sum(x["centres"] for x in rows[:-1]) == 527


def test_thresholds_are_parameters(cities):
    few = balance_report(2018, "cabecera", params=BalanceParams(intermediate_min=200_000))
    pops = _pops("poblacion_cabecera", 2018)
    expected = sum(200_000 <= v < 500_000 for v in pops.values())
    assert few.measure("intermediate_cities").value == expected


def test_year_comparison(cities):
    r = balance_report(2024, "total", compare_year=2012)
    row = next(x for x in r.comparison.rows if x["key"] == "population")
    assert row["a"] == pytest.approx(sum(_pops("poblacion_total", 2012).values()))
    assert row["b"] == pytest.approx(sum(_pops("poblacion_total", 2024).values()))


def test_scenarios_are_stored_and_recomputed(cities):
    save_scenario("tendencia", "trend", 2030, [])
    save_scenario("sur-lento", "pessimistic", 2030, [("subregion", "sur", -1.0)])
    t = balance_report(None, "total", "tendencia")
    p = balance_report(None, "total", "sur-lento")
    assert t.meta["year"] == 2030 and t.meta["scenario"]["name"] == "tendencia"
    cali_t = next(x for x in t.table("municipios").rows if x["code"] == "76001")["population"]
    cali_p = next(x for x in p.table("municipios").rows if x["code"] == "76001")["population"]
    assert cali_p == pytest.approx(cali_t * np.exp(-0.01 * 6))  # 2024 → 2030 with −1 pp/year
    with pytest.raises(ConflictError):
        save_scenario("tendencia", "trend", 2030, [])
    with pytest.raises(InvalidParameter, match="2035"):
        balance_report(2035, "total", "tendencia")


@pytest.mark.parametrize("kwargs, msg", [
    ({"year": 1999, "basis": "total"}, "años válidos: 2012"),
    ({"year": 2018, "basis": "rural"}, "válidas: cabecera, total"),
    ({"year": None, "basis": "total", "scenario": "nadie"}, "Escenario desconocido"),
    ({"year": None, "basis": "cabecera", "scenario": "x"}, "basis=total"),
    ({"year": 2018, "basis": "cabecera", "matrix": "nada"}, "Matriz de viaje desconocida"),
])
def test_bad_requests(cities, kwargs, msg):
    with pytest.raises(InvalidParameter, match=msg):
        balance_report(**kwargs)


def test_bad_scenarios_save_nothing(cities):
    n = Scenario.objects.count()
    with pytest.raises(InvalidParameter, match="Subregión desconocida"):
        save_scenario("malo", "optimistic", 2030, [("subregion", "marte", 1.0)])
    with pytest.raises(InvalidParameter, match="no lleva ajustes"):
        save_scenario("malo", "trend", 2030, [("subregion", "sur", 1.0)])
    with pytest.raises(InvalidParameter, match="horizonte"):
        save_scenario("malo", "trend", 2000, [])
    assert Scenario.objects.count() == n


def test_missing_or_zero_population_is_an_error(cities):
    IndicatorValue.objects.filter(indicator__code="poblacion_cabecera", municipality__divipola="76020").update(value=0)
    with pytest.raises(InvalidParameter, match="nulas o negativas.*Alcalá"):
        balance_report(2018, "cabecera")
    IndicatorValue.objects.filter(indicator__code="poblacion_cabecera", municipality__divipola="76020").delete()
    with pytest.raises(InvalidParameter, match="Faltan poblaciones.*Alcalá"):
        balance_report(2018, "cabecera")


def test_function_inventory_gives_hierarchy(cities):
    from cities.services.loading import import_functions

    import_functions("codigo,funcion,cantidad\n76001,aeropuerto,1\n76001,universidad,5\n76520,universidad,1\n",
                     "prueba", "fixture del test", demo=True)
    r = balance_report(2018, "cabecera")
    assert r.meta["functions"] == {"inventory": "prueba", "version": 1, "source": "fixture del test", "demo": True}
    sc = r.table("escalograma")
    assert sc.rows[0]["code"] == "76001" and sc.rows[0]["functions"] == 2
    # universidad: 6 in total → weight 100/6; aeropuerto 1 → 100. Cali = 100 + 5·100/6
    assert sc.rows[0]["functional_index"] == pytest.approx(100 + 500 / 6, abs=0.01)
    assert r.measure("guttman_cr").value == 1.0


def test_trend_over_the_series(cities):
    r = balance_report(2024, "total")
    rows = r.trend.rows
    assert [x["year"] for x in rows] == [str(y) for y in range(2012, 2025)]
    y12 = np.array(list(_pops("poblacion_total", 2012).values()))
    assert rows[0]["gini"] == pytest.approx(Gini(y12).g, abs=1e-4)
    assert rows[-1]["gini"] == r.measure("gini").value
    assert balance_report(2018, "cabecera").trend is None  # the urban basis has one year only
