"""Services behind the /ciudades/ page: scenario create/edit/delete through one service (API and page),
the wide per-municipality CSV and its «Excel (es)» variant, and the weighted time to an intermediate city
checked against a hand computation from the stored travel matrix."""
import csv
import io

import numpy as np
import pandas as pd
import pytest

from cities.models import Scenario, ScenarioAdjustment, TravelMatrix
from cities.services.report import (
    balance_report, can_edit_scenarios, delete_scenario, save_scenario, update_scenario,
)
from geosig.errors import ConflictError, InvalidParameter, NotFound
from territorial.models import IndicatorValue

pytestmark = pytest.mark.django_db


# ------------------------------------------------------------------ scenarios: one service
def test_scenario_create_edit_delete(cities):
    save_scenario("norte", "optimistic", 2030, [("subregion", "norte", 0.5)], "primera")
    sc = update_scenario("norte", "pessimistic", 2035, [("municipality", "76001", -1.0)], "segunda")
    assert (sc.kind, sc.horizon_year, sc.description) == ("pessimistic", 2035, "segunda")
    assert list(ScenarioAdjustment.objects.filter(scenario__name="norte").values_list(
        "target_type", "target_code", "growth_pp")) == [("municipality", "76001", -1.0)]
    delete_scenario("norte")
    assert not Scenario.objects.filter(name="norte").exists()
    assert not ScenarioAdjustment.objects.filter(target_code="76001").exists()


def test_refused_edits_leave_the_scenario_as_it_was(cities):
    save_scenario("sur", "optimistic", 2030, [("subregion", "sur", 0.5)])
    for args, msg in [(("optimistic", 2030, [("subregion", "marte", 1.0)]), "Subregión desconocida"),
                      (("trend", 2030, [("subregion", "sur", 1.0)]), "no lleva ajustes"),
                      (("optimistic", 1990, []), "horizonte"),
                      (("optimistic", 2030, [("subregion", "sur", 50.0)]), "growth_pp"),
                      (("nada", 2030, []), "kind")]:
        with pytest.raises(InvalidParameter, match=msg):
            update_scenario("sur", *args)
    sc = Scenario.objects.get(name="sur")
    assert (sc.kind, sc.horizon_year) == ("optimistic", 2030)
    assert list(sc.adjustments.values_list("target_code", "growth_pp")) == [("sur", 0.5)]
    with pytest.raises(NotFound):
        update_scenario("nadie", "trend", 2030, [])
    with pytest.raises(NotFound):
        delete_scenario("nadie")
    with pytest.raises(ConflictError):
        save_scenario("sur", "trend", 2030, [])


def test_scenario_editors(django_user_model, importer):
    from django.contrib.auth.models import AnonymousUser

    staff = django_user_model.objects.create_user("jefe", password="x", is_staff=True)
    assert can_edit_scenarios(staff)
    assert not can_edit_scenarios(importer) and not can_edit_scenarios(AnonymousUser())


def test_api_edit_and_delete_use_the_service(client, cities, django_user_model, importer):
    save_scenario("api-sc", "optimistic", 2030, [("subregion", "norte", 0.5)])
    client.force_login(importer)  # not staff: refused before anything changes
    assert client.delete("/api/v1/cities/scenarios/api-sc/").status_code == 403
    client.force_login(django_user_model.objects.create_user("jefe", password="x", is_staff=True))
    r = client.put("/api/v1/cities/scenarios/api-sc/", {"kind": "optimistic", "horizon_year": 2030,
                                                        "adjustments": "marte=1"}, content_type="application/json")
    assert r.status_code == 400 and "Subregión desconocida" in r.json()["detail"]
    r = client.put("/api/v1/cities/scenarios/api-sc/", {"kind": "pessimistic", "horizon_year": 2040,
                                                        "adjustments": "norte=-0.5"}, content_type="application/json")
    assert r.status_code == 200 and Scenario.objects.get(name="api-sc").horizon_year == 2040
    assert client.delete("/api/v1/cities/scenarios/api-sc/").status_code == 204
    assert client.delete("/api/v1/cities/scenarios/api-sc/").status_code == 404


# ------------------------------------------------------------------ wide CSV and «Excel (es)»
def _pop_2018():
    return dict(IndicatorValue.objects.filter(indicator__code="poblacion_cabecera", year=2018)
                .values_list("municipality__divipola", "value"))


def test_wide_csv_one_row_per_municipality(client, cities):
    r = client.get("/api/v1/cities/balance/report.csv?year=2018&tabla=municipios")
    assert r.status_code == 200
    assert r["Content-Disposition"] == 'attachment; filename="sistema_ciudades_2018_cabecera_municipios.csv"'
    rows = list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert len(rows) == 42
    assert list(rows[0])[:6] == ["Rango", "DIVIPOLA", "Municipio", "Subregión", "Población (hab)", "Participación (%)"]
    assert {"Tiempo a ciudad intermedia (h)", "Accesibilidad de Hansen (hab)", "anio", "base"} <= set(rows[0])
    pops = _pop_2018()
    assert {row["DIVIPOLA"] for row in rows} == set(pops)
    for row in rows:
        assert float(row["Población (hab)"]) == pytest.approx(pops[row["DIVIPOLA"]])
    assert rows[0]["Municipio"] == "Cali" and rows[0]["anio"] == "2018"


def test_excel_es_csv(client, cities):
    r = client.get("/api/v1/cities/balance/report.csv_es?year=2018&tabla=municipios")
    assert r.status_code == 200 and r["Content-Type"] == "text/csv; charset=utf-8"
    assert r["Content-Disposition"] == 'attachment; filename="sistema_ciudades_2018_cabecera_municipios_excel.csv"'
    assert r.content.startswith("\ufeff".encode())
    text = r.content.decode("utf-8-sig")
    header, first = text.splitlines()[:2]
    assert header.startswith("Rango;DIVIPOLA;Municipio;") and "," not in header.split(";")[4]
    assert "e+" not in text and "e-0" not in text
    frame = pd.read_csv(io.BytesIO(r.content), sep=";", decimal=",", encoding="utf-8-sig", dtype={"DIVIPOLA": str})
    assert len(frame) == 42
    pops = _pop_2018()
    assert frame.set_index("DIVIPOLA")["Población (hab)"].to_dict() == pytest.approx(pops)
    # the decimal numbers really carry a comma: the share column of Cali
    cali_share = 100 * pops["76001"] / sum(pops.values())
    assert frame.loc[frame["DIVIPOLA"] == "76001", "Participación (%)"].item() == pytest.approx(cali_share, abs=1e-3)
    assert f"{round(cali_share, 3)}".replace(".", ",") in first
    # the whole report (tidy) is offered in the same variant
    r = client.get("/api/v1/cities/balance/report.csv_es?year=2018")
    tidy = pd.read_csv(io.BytesIO(r.content), sep=";", decimal=",", encoding="utf-8-sig")
    assert {"tabla", "valor"} <= set(tidy.columns)


def test_unknown_table_is_a_400(client, cities):
    r = client.get("/api/v1/cities/balance/report.csv?year=2018&tabla=todo")
    assert r.status_code == 400 and "tabla" in r.json()["detail"]
    assert client.get("/api/v1/cities/balance/report.pdf?year=2018&tabla=municipios").status_code == 400


# ------------------------------------------------------------------ weighted time, by hand
def _hand_weighted_times(threshold=50_000):
    pops = _pop_2018()
    tm = TravelMatrix.objects.get(is_default=True)
    n = len(tm.codes)
    t = np.asarray(tm.values, float).reshape(n, n)
    idx = {c: i for i, c in enumerate(tm.codes)}
    hubs = [c for c, p in pops.items() if p >= threshold]
    near = {c: min(t[idx[c], idx[h]] for h in hubs) for c in pops}
    others = [c for c in pops if c not in hubs]

    def mean(codes):
        return sum(pops[c] * near[c] for c in codes) / sum(pops[c] for c in codes)

    return mean(others), mean(list(pops)), len(others), hubs


def test_weighted_time_to_intermediate_against_hand_computation(cities):
    r = balance_report(2018, "cabecera")
    outside, everyone, n_outside, hubs = _hand_weighted_times()
    assert len(hubs) >= 2 and everyone < outside / 3  # the big cities' own 0 h dominate the all-municipality mean
    m = r.measure("weighted_time_to_intermediate")
    assert m.value == pytest.approx(outside, abs=1e-3)
    assert "que no lo son" in m.label
    total = r.table("subregiones").rows[-1]
    assert total["weighted_time_to_intermediate_all_h"] == pytest.approx(everyone, abs=1e-3)
    assert total["municipalities_without_intermediate"] == n_outside
    assert f"{n_outside} municipios" in m.note
