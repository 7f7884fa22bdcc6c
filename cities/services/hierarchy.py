"""Functional hierarchy from an inventory of urban functions: Guttman scalogram, centrality index, classes.

The inventory is a (cities × functions) count matrix. Nothing here invents functions: with no inventory
imported the report shows only size classes.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from geosig.errors import InvalidParameter


@dataclass(frozen=True)
class Scalogram:
    row_order: np.ndarray  # city indices, most functions first
    col_order: np.ndarray  # function indices, most widespread first
    presence: np.ndarray  # ordered 0/1 matrix (rows, cols as ordered)
    errors: int
    reproducibility: float  # Guttman's coefficient of reproducibility 1 − errors / (n·k)


def scalogram(counts) -> Scalogram:
    """Order cities by number of distinct functions and functions by ubiquity; count Guttman errors as
    the cells that differ from the ideal pattern (a city with s functions holds the s most widespread
    ones: Goodenough–Edwards counting)."""
    c = np.asarray(counts, dtype=float)
    if c.ndim != 2 or 0 in c.shape:
        raise InvalidParameter("El inventario de funciones está vacío.")
    if (c < 0).any():
        raise InvalidParameter("El inventario tiene cantidades negativas.")
    pres = (c > 0).astype(np.int8)
    row_score = pres.sum(axis=1)
    col_score = pres.sum(axis=0)
    # stable sorts with index tie-breaks: the same inventory always gives the same scalogram
    rows = np.lexsort((np.arange(c.shape[0]), -row_score))
    cols = np.lexsort((np.arange(c.shape[1]), -col_score))
    ordered = pres[np.ix_(rows, cols)]
    ideal = (np.arange(c.shape[1])[None, :] < row_score[rows][:, None]).astype(np.int8)
    errors = int((ordered != ideal).sum())
    return Scalogram(rows, cols, ordered, errors, 1.0 - errors / ordered.size)


def centrality_index(counts) -> tuple[np.ndarray, np.ndarray]:
    """Marshall's functional index: each function weighs 100 / (its total count in the system); a city's
    index is Σ count × weight. Returns (city index, function weights)."""
    c = np.asarray(counts, dtype=float)
    total = c.sum(axis=0)
    w = np.where(total > 0, 100.0 / np.where(total > 0, total, 1.0), 0.0)
    return c @ w, w


def classify(values, thresholds: dict[str, float], labels_desc: list[str]) -> list[str]:
    """Classes by descending lower bounds: ``thresholds`` maps label → minimum value (inclusive);
    ``labels_desc`` lists labels from the top class down; the last label catches the rest."""
    v = np.asarray(values, dtype=float)
    out = np.full(v.shape, labels_desc[-1], dtype=object)
    assigned = np.zeros(v.shape, bool)
    for lab in labels_desc[:-1]:
        hit = (v >= thresholds[lab]) & ~assigned
        out[hit] = lab
        assigned |= hit
    return out.tolist()
