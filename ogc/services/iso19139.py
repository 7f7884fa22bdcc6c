"""A catalogue record as ISO 19139 XML (gmd), with the fields of the Colombian profile (NTC 4611) the data has.

NTC 4611 follows ISO 19115: identification (title, date, abstract, keywords, topic category, point of
contact, constraints), extent (bounding box, time), reference system, distribution (online resources),
data quality (lineage) and metadata reference (identifier, language, character set, contact, date). Each
element is written in the order the ISO 19139 schema prescribes; tests validate the output against the
XSDs shipped by pycsw (``pycsw/plugins/profiles/apiso/schemas/ogc/iso/19139/20060504``).
"""
from __future__ import annotations

import datetime as dt

import xml.etree.ElementTree as etree

from ogc.services.records import CONTACT, Record

GMD = "http://www.isotc211.org/2005/gmd"
GCO = "http://www.isotc211.org/2005/gco"
GML = "http://www.opengis.net/gml"
XLINK = "http://www.w3.org/1999/xlink"
NS = {"gmd": GMD, "gco": GCO, "gml": GML, "xlink": XLINK}
for _prefix, _uri in NS.items():
    etree.register_namespace(_prefix, _uri)
CODELISTS = "http://standards.iso.org/iso/19139/resources/gmxCodelists.xml"
# layers.Theme → ISO 19115 MD_TopicCategoryCode
TOPICS = {"hidrografia": "inlandWaters", "areas_protegidas": "environment", "ecosistemas": "biota",
          "relieve": "elevation", "amenazas": "geoscientificInformation", "infraestructura": "transportation",
          "asentamientos": "society", "ordenamiento": "planningCadastre", "otro": "environment"}
TOPIC_BY_PREFIX = {"coleccion-municipios": "boundaries", "coleccion-subregiones": "boundaries",
                   "coleccion-pot": "planningCadastre", "indicador-": "society", "corredores-": "environment",
                   "coleccion-": "society"}


def _el(parent, tag, text=None, **attrs):
    prefix, name = tag.split(":")
    node = etree.SubElement(parent, f"{{{NS[prefix]}}}{name}",
                            {(f"{{{NS[k.split('_')[0]]}}}{k.split('_')[1]}" if "_" in k else k): v for k, v in attrs.items()})
    if text is not None:
        node.text = str(text)
    return node


def _string(parent, tag, text):
    _el(_el(parent, tag), "gco:CharacterString", text)


def _code(parent, tag, codelist, value):
    _el(_el(parent, tag), f"gmd:{codelist}", value, codeList=f"{CODELISTS}#{codelist}", codeListValue=value)


def _party(parent, tag, role="pointOfContact"):
    rp = _el(_el(parent, tag), "gmd:CI_ResponsibleParty")
    _string(rp, "gmd:organisationName", CONTACT["organization"])
    _code(rp, "gmd:role", "CI_RoleCode", role)


def _date(parent, value, kind):
    ci = _el(_el(parent, "gmd:date"), "gmd:CI_Date")
    d = _el(ci, "gmd:date")
    if value and "T" in value:
        _el(d, "gco:DateTime", value[:19])
    else:
        _el(d, "gco:Date", (value or dt.date.today().isoformat())[:10])
    _code(ci, "gmd:dateType", "CI_DateTypeCode", kind)


def topic(record: Record) -> str:
    if record.theme:
        return TOPICS.get(record.theme, "environment")
    return next((t for p, t in TOPIC_BY_PREFIX.items() if record.id.startswith(p)), "environment")


def to_xml(record: Record, base_url: str, now: dt.datetime | None = None) -> bytes:
    root = etree.Element(f"{{{GMD}}}MD_Metadata")
    _string(root, "gmd:fileIdentifier", f"geosig-valle-{record.id}")
    _string(root, "gmd:language", "spa")
    _code(root, "gmd:characterSet", "MD_CharacterSetCode", "utf8")
    _code(root, "gmd:hierarchyLevel", "MD_ScopeCode", record.type)
    _party(root, "gmd:contact")
    _el(_el(root, "gmd:dateStamp"), "gco:DateTime", (now or dt.datetime.now(dt.timezone.utc)).strftime("%Y-%m-%dT%H:%M:%S"))
    _string(root, "gmd:metadataStandardName", "ISO 19115:2003/19139 — perfil NTC 4611 (ICDE)")
    _string(root, "gmd:metadataStandardVersion", "NTC 4611:2011")
    rs = _el(_el(_el(root, "gmd:referenceSystemInfo"), "gmd:MD_ReferenceSystem"), "gmd:referenceSystemIdentifier")
    rsid = _el(rs, "gmd:RS_Identifier")
    _string(rsid, "gmd:code", record.crs)
    _string(rsid, "gmd:codeSpace", "EPSG")
    _identification(root, record)
    _distribution(root, record, base_url)
    _quality(root, record)
    etree.indent(root)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def _identification(root, record: Record) -> None:
    ident = _el(_el(root, "gmd:identificationInfo"), "gmd:MD_DataIdentification")
    cit = _el(_el(ident, "gmd:citation"), "gmd:CI_Citation")
    _string(cit, "gmd:title", record.title)
    _date(cit, record.created, "creation")
    if record.updated:
        _date(cit, record.updated, "revision")
    _string(ident, "gmd:abstract", record.description)
    _party(ident, "gmd:pointOfContact")
    kw = _el(_el(ident, "gmd:descriptiveKeywords"), "gmd:MD_Keywords")
    for word in record.keywords or [record.title]:
        _string(kw, "gmd:keyword", word)
    _code(kw, "gmd:type", "MD_KeywordTypeCode", "theme")
    legal = _el(_el(ident, "gmd:resourceConstraints"), "gmd:MD_LegalConstraints")
    _code(legal, "gmd:useConstraints", "MD_RestrictionCode", "license")
    _string(legal, "gmd:otherConstraints", record.licence or "Licencia no indicada por la fuente")
    _string(ident, "gmd:language", "spa")
    _code(ident, "gmd:characterSet", "MD_CharacterSetCode", "utf8")
    _el(_el(ident, "gmd:topicCategory"), "gmd:MD_TopicCategoryCode", topic(record))
    _extent(ident, record)
    if record.flags:
        _string(ident, "gmd:supplementalInformation", ", ".join(record.flags))


def _extent(ident, record: Record) -> None:
    if not record.bbox and not record.interval:
        return
    ex = _el(_el(ident, "gmd:extent"), "gmd:EX_Extent")
    if record.bbox:
        box = _el(_el(ex, "gmd:geographicElement"), "gmd:EX_GeographicBoundingBox")
        for tag, value in zip(("westBoundLongitude", "eastBoundLongitude", "southBoundLatitude", "northBoundLatitude"),
                              (record.bbox[0], record.bbox[2], record.bbox[1], record.bbox[3])):
            _el(_el(box, f"gmd:{tag}"), "gco:Decimal", f"{float(value):.6f}")
    if record.interval and record.interval[0]:
        period = _el(_el(_el(ex, "gmd:temporalElement"), "gmd:EX_TemporalExtent"), "gmd:extent")
        tp = _el(period, "gml:TimePeriod", **{"gml_id": f"t-{record.id}"})
        _el(tp, "gml:beginPosition", str(record.interval[0])[:19])
        _el(tp, "gml:endPosition", str(record.interval[1] or record.interval[0])[:19])


def _distribution(root, record: Record, base_url: str) -> None:
    if not record.links:
        return
    opts = _el(_el(_el(root, "gmd:distributionInfo"), "gmd:MD_Distribution"), "gmd:transferOptions")
    dto = _el(opts, "gmd:MD_DigitalTransferOptions")
    for rel, href, mime, title in record.links:
        res = _el(_el(dto, "gmd:onLine"), "gmd:CI_OnlineResource")
        _el(_el(res, "gmd:linkage"), "gmd:URL", f"{base_url}/{href}")
        _string(res, "gmd:protocol", "OGC API" if not href.startswith("../") else "HTTP")
        _string(res, "gmd:name", title)
        _string(res, "gmd:description", f"{rel} ({mime})")


def _quality(root, record: Record) -> None:
    dq = _el(_el(root, "gmd:dataQualityInfo"), "gmd:DQ_DataQuality")
    scope = _el(_el(dq, "gmd:scope"), "gmd:DQ_Scope")
    _code(scope, "gmd:level", "MD_ScopeCode", record.type)
    lineage = _el(_el(dq, "gmd:lineage"), "gmd:LI_Lineage")
    _string(lineage, "gmd:statement", record.lineage or record.source or "Linaje no indicado por la fuente")
