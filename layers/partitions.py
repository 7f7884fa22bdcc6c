"""Reporting partitions: fixed sets of polygons (the 42 municipalities) that overlays are often summed over.

``layers`` knows no municipalities. An app that owns such a set (``territorial``) registers it here from its
``AppConfig.ready()``; polygon layers then keep their stored pieces pre-cut along the partition's members
(``PartitionPiece``, built at import and by ``layers.services.partitions.rebuild_partition_pieces``), and an
overlay over members is a sum of stored areas, with no cut at request time. A dict entry, not an if/elif, keeps
the dependency one way.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from django.contrib.gis.geos import GEOSGeometry

from geosig.errors import InvalidParameter


@dataclass(frozen=True)
class Partition:
    name: str
    members: Callable[[], dict[str, GEOSGeometry]]  # member key → polygon in EPSG:9377 (the measuring CRS)
    area_kind: str = ""  # the area resolver (layers.hooks) naming the same polygons: label and geometry of answers


PARTITIONS: dict[str, Partition] = {}


def register_partition(name: str, members_fn: Callable[[], dict[str, GEOSGeometry]], area_kind: str = "") -> None:
    PARTITIONS[name] = Partition(name, members_fn, area_kind)


def get_partition(name: str) -> Partition:
    if name not in PARTITIONS:
        valid = ", ".join(sorted(PARTITIONS)) or "(ninguna registrada)"
        raise InvalidParameter(f"Partición desconocida «{name}». Valores válidos: {valid}.")
    return PARTITIONS[name]


def partition_of_kind(kind) -> str:
    """The partition whose members an area kind names (``{"kind": "municipio", …}`` → "municipios"), or ""."""
    return next((p.name for p in PARTITIONS.values() if p.area_kind and p.area_kind == kind), "")


@dataclass(frozen=True)
class PartitionArea:
    """An overlay area named as a member of a registered partition: ``PartitionArea("municipios", "76001")``."""
    partition: str
    member: str
