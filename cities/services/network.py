"""Interaction and access on the city network: gravity, Hansen accessibility, nearest city of a class,
graph centrality, and the access of centros poblados (places without population) to those cities.

Inputs are arrays: populations (n,), a travel-time matrix (n, n) in hours, boolean class masks.
"""
from __future__ import annotations

import networkx as nx
import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra

from cities.services.brandes import betweenness
from geosig.errors import InvalidParameter


def check_matrix(matrix, n: int | None = None, tolerance: float = 0.05, what: str = "matriz de viaje") -> np.ndarray:
    """A square, finite, non-negative, symmetric (within ``tolerance``, relative) matrix with a zero diagonal."""
    t = np.asarray(matrix, dtype=float)
    if t.ndim != 2 or t.shape[0] != t.shape[1]:
        raise InvalidParameter(f"La {what} no es cuadrada: tiene forma {t.shape}.")
    if n is not None and t.shape[0] != n:
        raise InvalidParameter(f"La {what} tiene {t.shape[0]} filas y hay {n} municipios.")
    if not np.isfinite(t).all():
        raise InvalidParameter(f"La {what} tiene valores vacíos o no numéricos ({int((~np.isfinite(t)).sum())}).")
    if (t < 0).any():
        raise InvalidParameter(f"La {what} tiene valores negativos ({int((t < 0).sum())}).")
    if np.abs(np.diag(t)).max(initial=0) > 0:
        raise InvalidParameter(f"La diagonal de la {what} debe ser 0 (viaje de un lugar a sí mismo).")
    asym = np.abs(t - t.T)
    scale = np.maximum(np.maximum(t, t.T), 1e-12)
    bad = asym > tolerance * scale + 1e-9
    if bad.any():
        i, j = np.argwhere(bad)[0]
        raise InvalidParameter(
            f"La {what} es asimétrica más allá de la tolerancia ({tolerance:.0%}) en {int(bad.sum()) // 2} pares, "
            f"p. ej. fila {i} columna {j}: {t[i, j]} frente a {t[j, i]}.", tolerance=tolerance,
        )
    return (t + t.T) / 2.0  # symmetrise within the tolerance


def floored(t: np.ndarray, floor: float) -> np.ndarray:
    """Travel times with a floor off the diagonal: the data round adjacent towns to 0.0 h."""
    out = np.maximum(t, floor)
    np.fill_diagonal(out, 0.0)
    return out


def gravity(pop, t, beta: float = 2.0, floor: float = 0.1) -> np.ndarray:
    """Gravity interaction I_ij = P_i·P_j / t_ij^β (diagonal 0). Unit: hab²/h^β."""
    p = np.asarray(pop, dtype=float)
    tt = floored(t, floor)
    with np.errstate(divide="ignore"):
        inv = np.where(tt > 0, tt ** -beta, 0.0)
    return p[:, None] * p[None, :] * inv


def hansen(pop, t, decay: float = 1.0) -> np.ndarray:
    """Hansen accessibility A_i = Σ_j P_j · exp(−λ t_ij), own population included (t_ii = 0). Unit: hab."""
    return np.exp(-decay * np.asarray(t)) @ np.asarray(pop, dtype=float)


def nearest_in_class(t, member) -> tuple[np.ndarray, np.ndarray]:
    """For each place: travel time to, and index of, the nearest place of the class (0 h if it is one).

    Returns (inf, -1) for everyone when the class is empty.
    """
    member = np.asarray(member, dtype=bool)
    n = t.shape[0]
    if not member.any():
        return np.full(n, np.inf), np.full(n, -1)
    cols = np.flatnonzero(member)
    sub = t[:, cols]
    k = sub.argmin(axis=1)
    return sub[np.arange(n), k], cols[k]


def city_graph(t, neighbours: int = 3, floor: float = 0.1) -> nx.Graph:
    """Undirected graph linking each municipality to its ``neighbours`` nearest ones by travel time
    (edge weight = time). k nearest neighbours instead of a time threshold: the Valle matrix has a median
    of 0.9 h, so a threshold would give an almost complete graph with no structure."""
    n = t.shape[0]
    tt = floored(t, floor)
    k = min(neighbours, n - 1)
    # rank neighbours by the raw time with a stable sort: the source rounds to 0.1 h, so ties are common and
    # must break the same way every time (lowest code first)
    masked = np.asarray(t, float) + np.diag(np.full(n, np.inf))
    nn = np.argsort(masked, axis=1, kind="stable")[:, :k] if k > 0 else np.empty((n, 0), int)
    rows = np.repeat(np.arange(n), k)
    cols = nn.ravel()
    g = nx.Graph()
    g.add_nodes_from(range(n))
    g.add_weighted_edges_from(zip(rows.tolist(), cols.tolist(), tt[rows, cols].tolist()))
    return g


def centrality(graph: nx.Graph, networkx_max_nodes: int = 400) -> dict:
    """Betweenness (normalised, exact) and closeness on the weighted city graph.

    Up to ``networkx_max_nodes`` nodes betweenness is networkx's; above, the same Brandes algorithm
    compiled with numba (``cities.services.brandes``, equal to networkx to 1e-15 in the tests), because
    networkx's pure-Python loop takes seconds on a country-size graph. Closeness comes from scipy's
    all-pairs Dijkstra with networkx's formula.
    """
    n = graph.number_of_nodes()
    edges = [(u, v, d["weight"]) for u, v, d in graph.edges(data=True)]
    if n <= networkx_max_nodes or not edges:
        bet = nx.betweenness_centrality(graph, weight="weight", normalized=True)
        b = np.array([bet[i] for i in range(n)])
        engine = "networkx"
    else:
        u, v, w = zip(*edges)
        b = betweenness(n, u, v, w)
        engine = "numba"
    return {"betweenness": b, "closeness": _closeness(graph), "engine": engine, "edges": edges}


def _closeness(graph: nx.Graph) -> np.ndarray:
    """Closeness (Wasserman–Faust, as networkx ``closeness_centrality``) from scipy's all-pairs Dijkstra:
    the same numbers as networkx, computed in C."""
    n = graph.number_of_nodes()
    if n == 1:
        return np.zeros(1)
    u, v, w = zip(*[(a, b, d["weight"]) for a, b, d in graph.edges(data=True)]) if graph.number_of_edges() else ((), (), ())
    m = csr_matrix((np.array(w, float), (np.array(u, int), np.array(v, int))), shape=(n, n))
    d = dijkstra(m, directed=False)
    reach = np.isfinite(d)
    r = reach.sum(axis=1) - 1  # reachable others
    tot = np.where(reach, d, 0.0).sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        c = np.where(tot > 0, (r / tot) * (r / (n - 1)), 0.0)
    return c


def centre_access(t, centre_municipality, centre_to_cabecera_km, target_member, speed_kmh: float = 30.0,
                  detour: float = 1.3) -> np.ndarray:
    """Modelled hours from each centro poblado to the nearest target-class municipality: local leg
    (straight-line km to its own cabecera × detour ÷ speed) + the matrix time from that cabecera.
    Centros of a target municipality get only the local leg. The local leg is an assumption, not data."""
    to_target, _ = nearest_in_class(t, target_member)
    local = np.asarray(centre_to_cabecera_km, dtype=float) * detour / speed_kmh
    return local + to_target[np.asarray(centre_municipality, dtype=int)]
