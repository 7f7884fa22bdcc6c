"""OGC API – Records: the catalogue (search by text, bbox, type, time) and each record as ISO 19139 XML,
validated against the ISO 19139 XSDs shipped by pycsw (offline, with lxml)."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

pytestmark = pytest.mark.django_db
URL = "/ogc/collections/catalogo/items"
etree = pytest.importorskip("lxml.etree")


def iso_schema():
    spec = importlib.util.find_spec("pycsw")
    if spec is None:
        pytest.skip("pycsw (ISO 19139 XSDs) no instalado")
    xsd = Path(spec.submodule_search_locations[0]) / "plugins/profiles/apiso/schemas/ogc/iso/19139/20060504/gmd/gmd.xsd"
    return etree.XMLSchema(etree.parse(str(xsd)))


def test_catalogue_collection_and_records(client, point_layer):
    c = client.get("/ogc/collections/catalogo").json()
    assert c["itemType"] == "record"
    body = client.get(URL, {"limit": 100}).json()
    ids = {f["id"] for f in body["features"]}
    assert {"capa-puntos-prueba", "coleccion-municipios", "indicador-poblacion_total"} <= ids
    assert body["numberMatched"] == len(ids)
    rec = client.get(f"{URL}/capa-puntos-prueba").json()
    p = rec["properties"]
    assert p["title"] == "Capa puntos-prueba" and p["type"] == "dataset" and p["license"] == "CC0"
    assert rec["time"]["interval"] == ["2024-05-01", "2024-05-01"]  # the layer's data date
    x0, y0, x1, y1 = point_layer.extent.extent
    assert rec["geometry"]["coordinates"][0][0] == pytest.approx([x0, y0])
    assert "Fuente: prueba." in p["lineage"] and p["contacts"][0]["organization"].startswith("GeoSIG Valle")
    assert any(l["type"] == "application/xml" for l in rec["links"])


def test_search_q_bbox_type_datetime(client, point_layer):
    def ids(**q):
        return {f["id"] for f in client.get(URL, {"limit": 100, **q}).json()["features"]}

    assert ids(q="poblacion") >= {"indicador-poblacion_total"} and "capa-puntos-prueba" not in ids(q="poblacion")
    assert "capa-puntos-prueba" in ids(q="PUNTOS-PRUEBA")
    far = ids(bbox="10,10,11,11")
    assert far == set()  # nothing of the Valle there
    assert "capa-puntos-prueba" in ids(bbox="-77,3,-76,4")
    assert ids(type="service") == set() and "capa-puntos-prueba" in ids(type="dataset")
    assert "capa-puntos-prueba" in ids(datetime="2024-01-01/2024-12-31")
    assert "capa-puntos-prueba" not in ids(datetime="2010-01-01/2010-12-31")
    r = client.get(URL, {"colour": "x"})
    assert r.status_code == 400 and "Parámetro desconocido" in r.json()["description"]


def test_iso19139_record_validates_and_carries_the_profile_fields(client, point_layer):
    from layers.models import Layer

    Layer.objects.filter(pk=point_layer.pk).update(is_demo=True, is_partial=True, derivation_note="buffer de 1 km")
    r = client.get(f"{URL}/capa-puntos-prueba", {"f": "xml"})
    assert r.status_code == 200 and r["Content-Type"].startswith("application/xml")
    doc = etree.fromstring(r.content)
    schema = iso_schema()
    assert schema.validate(doc), schema.error_log
    ns = {"gmd": "http://www.isotc211.org/2005/gmd", "gco": "http://www.isotc211.org/2005/gco"}
    text = lambda xp: doc.xpath(xp + "/gco:CharacterString/text()", namespaces=ns)  # noqa: E731
    assert text("//gmd:citation/gmd:CI_Citation/gmd:title") == ["Capa puntos-prueba"]
    lineage = text("//gmd:LI_Lineage/gmd:statement")[0]
    assert "buffer de 1 km" in lineage and "DEMO" in lineage and "parcial" in lineage.lower()
    assert text("//gmd:MD_LegalConstraints/gmd:otherConstraints") == ["CC0"]
    west = doc.xpath("//gmd:westBoundLongitude/gco:Decimal/text()", namespaces=ns)[0]
    assert float(west) == pytest.approx(point_layer.extent.extent[0], abs=1e-6)
    assert doc.xpath("//gmd:topicCategory/gmd:MD_TopicCategoryCode/text()", namespaces=ns) == ["environment"]


def test_every_record_of_the_catalogue_is_valid_iso19139(client, point_layer):
    schema = iso_schema()
    for f in client.get(URL, {"limit": 1000}).json()["features"]:
        doc = etree.fromstring(client.get(f"{URL}/{f['id']}", {"f": "xml"}).content)
        assert schema.validate(doc), (f["id"], schema.error_log)


def test_the_schema_rejects_a_broken_record(client, point_layer):
    """The validation above can fail: the same record without its mandatory citation date is refused."""
    schema = iso_schema()
    doc = etree.fromstring(client.get(f"{URL}/capa-puntos-prueba", {"f": "xml"}).content)
    ns = {"gmd": "http://www.isotc211.org/2005/gmd"}
    for d in doc.xpath("//gmd:CI_Citation/gmd:date", namespaces=ns):
        d.getparent().remove(d)
    assert not schema.validate(doc)
