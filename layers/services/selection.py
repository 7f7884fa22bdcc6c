"""Resolve the layer slugs a request names, shared by identify and overlay."""
from __future__ import annotations

from geosig.errors import NotFound
from layers.models import Layer


def layers_by_slug(slugs: list[str] | None, qs=None) -> list[Layer]:
    """The layers of ``qs`` (default: all) named by ``slugs``, in the order asked; no slugs → every layer.

    An unknown slug is an error naming every missing one, never a silently shorter answer."""
    qs = Layer.objects.all() if qs is None else qs
    if not slugs:
        return list(qs)
    found = {layer.slug: layer for layer in qs.filter(slug__in=slugs)}
    missing = [s for s in slugs if s not in found]
    if missing:
        raise NotFound(f"Capas inexistentes: {', '.join(missing)}.")
    return [found[s] for s in slugs]
