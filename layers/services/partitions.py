"""Stored pieces pre-cut along a reporting partition (``layers.partitions``, ``PartitionPiece``).

Built set-based in SQL, one statement per partition for the layers asked: each stored piece (``FeaturePiece``,
≤ 256 vertices, EPSG:9377) whose box meets a member is tested against the whole member (ST_Covers with the member
first: PostGIS prepares it once for the index scan's run of pieces); a covered piece is tagged with its own area,
a crossing one is cut by the member's own pieces (≤ 256 vertices, cut in Python as the overlay cuts an area,
``_area_pieces``): GEOS pays for every vertex of both inputs on each cut, and a municipality has thousands. The
member's pieces tile it, so the parts' areas add up to the piece's area inside the member.
"""
from __future__ import annotations

import shapely
from django.conf import settings
from django.db import connection, transaction

from layers.models import FeaturePiece, Layer, PartitionBuild, PartitionPiece
from layers.partitions import PARTITIONS, get_partition
from layers.services.overlay import _area_pieces
from layers.services.selection import layers_by_slug

MEMBER_PIECE_VERTICES = 256

SQL_BUILD = """
WITH m AS MATERIALIZED (
    SELECT (%(mk)s::text[])[(d.path)[1]] AS member, d.geom AS g FROM ST_Dump(ST_GeomFromEWKB(%(m)s)) d),
s AS MATERIALIZED (
    SELECT (%(sk)s::text[])[(d.path)[1]] AS member, d.geom AS g FROM ST_Dump(ST_GeomFromEWKB(%(s)s)) d),
hit AS MATERIALIZED (
    SELECT m.member, p.id, p.feature_id, p.layer_id, p.geom, ST_Covers(m.g, p.geom) AS inside
    FROM m JOIN {piece} p ON p.geom && m.g
    WHERE p.layer_id = ANY(%(layers)s) AND ST_Intersects(m.g, p.geom)),
cut AS MATERIALIZED (  -- each cut once: inlined, the area test and the stored part would cut twice
    SELECT h.member, h.id, h.feature_id, h.layer_id, ST_CollectionExtract(ST_Intersection(s.g, h.geom), 3) AS g
    FROM hit h JOIN s ON s.member = h.member AND s.g && h.geom
    WHERE NOT h.inside)
INSERT INTO {table} (layer_id, feature_id, piece_id, partition, member, geom, area)
SELECT layer_id, feature_id, id, %(partition)s, member, NULL, ST_Area(geom) FROM hit WHERE inside
UNION ALL
SELECT layer_id, feature_id, id, %(partition)s, member, g, ST_Area(g) FROM cut WHERE ST_Area(g) > 0
"""


def rebuild_partition_pieces(partition: str, layers: list[str] | None = None) -> dict:
    """Cut the stored pieces of the polygon ``layers`` (slugs; default all) along ``partition``'s members again,
    replacing what was built: after the members change, or for layers imported before the partition existed."""
    part = get_partition(partition)
    qs = Layer.objects.filter(kind=Layer.Kind.VECTOR, geometry_type="polygon")
    chosen = layers_by_slug(layers, qs) if layers else list(qs)
    return _build(part, [layer.pk for layer in chosen])


def build_layer_partitions(layer: Layer) -> None:
    """At import: the new layer's pieces cut along every registered partition."""
    for part in PARTITIONS.values():
        _build(part, [layer.pk])


def _build(part, layer_ids: list[int]) -> dict:
    members = part.members()
    srid = settings.GEOSIG_MEASURE_SRID
    mk, mg, sk, sg = [], [], [], []
    for key, geom in members.items():
        if geom.srid not in (None, srid):
            geom = geom.transform(srid, clone=True)
        shape = shapely.from_wkb(bytes(geom.wkb))
        mk.append(str(key))
        mg.append(shape)
        own = _area_pieces(shape, MEMBER_PIECE_VERTICES)
        sk.extend([str(key)] * len(own))
        sg.extend(own)
    with transaction.atomic():
        PartitionPiece.objects.filter(partition=part.name, layer_id__in=layer_ids).delete()
        if mk and layer_ids:
            sql = SQL_BUILD.format(piece=FeaturePiece._meta.db_table, table=PartitionPiece._meta.db_table)
            params = {"m": _collection(mg, srid), "mk": mk, "s": _collection(sg, srid), "sk": sk,
                      "layers": layer_ids, "partition": part.name}
            with connection.cursor() as cur:
                cur.execute(sql, params)
                rows = cur.rowcount
        else:
            rows = 0
        for pk in layer_ids:
            PartitionBuild.objects.update_or_create(layer_id=pk, partition=part.name)
    return {"partition": part.name, "members": len(mk), "layers": len(layer_ids), "pieces": rows}


def _collection(shapes: list, srid: int) -> bytes:
    return shapely.to_wkb(shapely.set_srid(shapely.GeometryCollection(shapes), srid), include_srid=True)
