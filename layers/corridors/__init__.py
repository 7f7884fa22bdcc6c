"""Ecological corridors between core areas (issue 6): a numeric engine over numpy grids (``grid``,
``costdistance``, ``corridor``, ``circuit``, ``network``, ``resistance``, ``cores``) with no Django in it,
and the Django side (``models``, ``services``, API, page) that feeds it registry layers."""
