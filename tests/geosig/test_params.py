"""geosig.params additions: request bodies, JSON objects in form fields, texts bounded by a model field,
and the list cap from GEOSIG_MAX_LIST_ITEMS. Pure functions: no database."""
import pytest

from geosig import params
from geosig.errors import InvalidParameter
from layers.models import Layer


@pytest.mark.parametrize("value", [[1, 2], "texto", 5, None, True])
def test_body_must_be_an_object(value):
    with pytest.raises(InvalidParameter, match="Envíe un objeto JSON"):
        params.body(value)


def test_body_passes_objects_through():
    data = {"a": 1}
    assert params.body(data) is data


@pytest.mark.parametrize("raw, expected", [
    ('{"bosque": "proteccion"}', {"bosque": "proteccion"}), ("", {}), (None, {}), ("null", {}),
    ({"a": "b"}, {"a": "b"}),
])
def test_json_mapping_accepts_objects(raw, expected):
    assert params.json_mapping(raw, "mapping") == expected


@pytest.mark.parametrize("raw, text", [
    ("[1]", "debe ser un objeto JSON"), ("1", "debe ser un objeto JSON"), ('"x"', "debe ser un objeto JSON"),
    ("{no es json", "debe ser un objeto JSON"), ("[" * 100_001, "demasiado largo"), ("[" * 50_000, "objeto JSON"),
])
def test_json_mapping_refuses_the_rest(raw, text):
    with pytest.raises(InvalidParameter, match=text) as exc:
        params.json_mapping(raw, "mapping")
    assert "mapping" in exc.value.message


def test_model_text_uses_the_field_max_length():
    assert Layer._meta.get_field("title").max_length == 200
    assert params.model_text("t" * 200, "title", Layer) == "t" * 200
    with pytest.raises(InvalidParameter, match="«title» tiene 201 caracteres; el máximo es 200"):
        params.model_text("t" * 201, "title", Layer)
    with pytest.raises(InvalidParameter, match="«titulo» tiene 61 caracteres; el máximo es 60"):
        params.model_text("t" * 61, "titulo", Layer, "data_date")
    with pytest.raises(InvalidParameter, match="debe ser un texto"):
        params.model_text(["t"], "title", Layer)
    assert params.model_text(None, "title", Layer) == ""


def test_list_cap_follows_the_setting(settings):
    settings.GEOSIG_MAX_LIST_ITEMS = 3
    assert params.text_list("a,b,a,c,b", "layers") == ["a", "b", "c"]  # de-duplicated, order kept
    with pytest.raises(InvalidParameter, match="como máximo 3"):
        params.text_list(["a", "b", "c", "d"], "layers")
    with pytest.raises(InvalidParameter, match="como máximo 3"):
        params.id_list([1, 2, 3, 4], "ids")
    assert params.text_list(["a", "b", "c", "d"], "layers", max_items=4) == ["a", "b", "c", "d"]
    settings.GEOSIG_MAX_LIST_ITEMS = 50
    with pytest.raises(InvalidParameter, match="como máximo 50"):
        params.text_list(["x"] * 20_000, "layers")  # refused before de-duplicating


def test_si_is_true_everywhere():
    for word in ("sí", "SI", "true", "1", "yes", "on"):
        assert params.boolean(word, "flag") is True
    for word in ("no", "false", "0", "off"):
        assert params.boolean(word, "flag") is False
    with pytest.raises(InvalidParameter):
        params.boolean("quizá", "flag")
