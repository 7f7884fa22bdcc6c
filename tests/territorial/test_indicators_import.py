import pytest
from django.core.management import CommandError, call_command

from territorial.models import Indicator, IndicatorValue

pytestmark = pytest.mark.django_db


def test_new_indicator_from_csv(territory, tmp_path):
    f = tmp_path / "nbi.csv"
    f.write_text("divipola,indicator,year,value,unit,name,source\n"
                 "76001,nbi,2018,5.9,%,Necesidades básicas insatisfechas,DANE CNPV 2018\n"
                 "76109,nbi,2018,23.1,%,Necesidades básicas insatisfechas,DANE CNPV 2018\n")
    call_command("import_indicators", str(f))
    ind = Indicator.objects.get(code="nbi")
    assert ind.unit == "%"
    assert IndicatorValue.objects.get(indicator=ind, municipality__divipola="76109").value == 23.1


@pytest.mark.parametrize("body, message", [
    ("divipola,indicator,year\n76001,x,2018\n", "faltan las columnas value"),
    ("divipola,indicator,year,value\n99999,poblacion_total,2018,1\n", "divipola desconocido"),
    ("divipola,indicator,year,value\n76001,poblacion_total,dosmil,1\n", "línea 2: «year» debe ser un número entero"),
    # every number finite, every text within the model's max_length, every row with a code and a value
    ("divipola,indicator,year,value\n76001,poblacion_total,2018,1e999\n", "«value» debe ser un número finito"),
    ("divipola,indicator,year,value\n76001,poblacion_total,2018,\n", "Falta el parámetro «value»"),
    ("divipola,indicator,year,value\n76001,poblacion_total\n", "Falta el parámetro «year»"),
    ("divipola,indicator,year,value\n76001,,2018,1\n", "Falta el parámetro «indicator»"),
    ("divipola,indicator,year,value,unit,name\n76001,x,2018,1,%," + "n" * 201 + "\n", "«name» tiene 201 caracteres"),
    ("divipola,indicator,year,value,unit,name\n76001," + "c" * 61 + ",2018,1,%,N\n", "«indicator» tiene 61"),
    ("divipola,indicator,year,value,unit,name\n76001,a b,2018,1,%,N\n", "solo admite letras"),
    ("divipola,indicator,year,value\n76001,nuevo,2018,1\n", "sin columnas unit y name"),
    ("divipola,indicator,year,value\n", "no tiene filas"),
])
def test_bad_csv_changes_nothing(territory, tmp_path, body, message):
    before = IndicatorValue.objects.count()
    f = tmp_path / "bad.csv"
    f.write_text(body)
    with pytest.raises(CommandError, match=message):
        call_command("import_indicators", str(f))
    assert IndicatorValue.objects.count() == before


def test_partial_failure_writes_nothing(territory, tmp_path):
    f = tmp_path / "mixed.csv"
    f.write_text("divipola,indicator,year,value\n76001,poblacion_total,2030,1\n76001,poblacion_total,2031,x\n")
    with pytest.raises(CommandError):
        call_command("import_indicators", str(f))
    assert not IndicatorValue.objects.filter(year__in=[2030, 2031]).exists()
