"""Core-network metrics over the corridor links (networkx).

* Current-flow centrality of cores: ``networkx.current_flow_betweenness_centrality`` on the graph of kept
  links, each link a conductor of 1 / CWD (Linkage Mapper's Centrality Mapper also treats the link CWD as a
  resistance), computed per connected component (isolated cores get 0).
* Integral Index of Connectivity (Pascual-Hortal & Saura 2006):
  IIC = Σ_i Σ_j a_i a_j / (1 + nl_ij) / A_L², nl_ij = number of links on the shortest topological path,
  where two cores are linked when their CWD ≤ the dispersal distance (i = j counts with nl = 0; unconnected
  pairs contribute 0).
* Probability of Connectivity (Saura & Pascual-Hortal 2007): PC = Σ_i Σ_j a_i a_j p*_ij / A_L²,
  p_ij = exp(−k d_ij) with k chosen so that p = ``p_at_dispersal`` (0.5 by default) at the dispersal
  distance, p*_ij the maximum product of p along any path (= exp(−k × shortest CWD path)), p*_ii = 1.
* Node importance dIIC_k, dPC_k = 100 × (I − I_without_k) / I.

Distances are the link CWDs (cost units), so the dispersal distance is in cost units too. ``a_i`` is the
core's attribute (its area; for point cores shown as discs, the disc area or an attribute the user chose —
the report says which). ``A_L`` is the study area.
"""
from __future__ import annotations

import math

import networkx as nx

from geosig.errors import InvalidParameter


def core_graph(cores: dict[int, float], links: list[tuple[int, int, float]]) -> nx.Graph:
    """Graph of cores (attribute ``area``) and links (a, b, cwd) with ``cwd`` and ``conductance`` = 1/cwd."""
    g = nx.Graph()
    for k, area in cores.items():
        g.add_node(k, area=float(area))
    for a, b, cwd in links:
        if a not in g or b not in g:
            raise InvalidParameter(f"El vínculo {a}–{b} nombra un núcleo desconocido.")
        cwd = float(cwd)
        # Touching cores have CWD 0: a tiny resistance rather than a division by zero.
        g.add_edge(a, b, cwd=cwd, conductance=1.0 / max(cwd, 1e-9))
    return g


def current_flow_centrality(g: nx.Graph) -> dict[int, float]:
    out = {n: 0.0 for n in g}
    for comp in nx.connected_components(g):
        if len(comp) < 3:
            continue  # with two nodes no current passes *through* any core
        sub = g.subgraph(comp)
        out.update(nx.current_flow_betweenness_centrality(sub, normalized=True, weight="conductance"))
    return out


def _check(dispersal: float, landscape_area: float) -> None:
    if not dispersal or dispersal <= 0:
        raise InvalidParameter(f"La distancia de dispersión debe ser > 0 (llegó {dispersal}).")
    if not landscape_area or landscape_area <= 0:
        raise InvalidParameter(f"El área del paisaje debe ser > 0 (llegó {landscape_area}).")


def iic(g: nx.Graph, dispersal: float, landscape_area: float) -> float:
    _check(dispersal, landscape_area)
    h = nx.Graph()
    h.add_nodes_from(g.nodes(data=True))
    h.add_edges_from((a, b) for a, b, d in g.edges(data=True) if d["cwd"] <= dispersal)
    total = 0.0
    for i, lengths in nx.all_pairs_shortest_path_length(h):
        ai = h.nodes[i]["area"]
        for j, nl in lengths.items():
            total += ai * h.nodes[j]["area"] / (1.0 + nl)
    return total / landscape_area**2


def pc(g: nx.Graph, dispersal: float, landscape_area: float, p_at_dispersal: float = 0.5) -> float:
    _check(dispersal, landscape_area)
    if not 0 < p_at_dispersal < 1:
        raise InvalidParameter(f"La probabilidad a la distancia de dispersión debe estar entre 0 y 1 (llegó {p_at_dispersal}).")
    k = -math.log(p_at_dispersal) / dispersal
    total = 0.0
    for i, lengths in nx.all_pairs_dijkstra_path_length(g, weight="cwd"):
        ai = g.nodes[i]["area"]
        for j, d in lengths.items():
            total += ai * g.nodes[j]["area"] * math.exp(-k * d)
    return total / landscape_area**2


def importance(g: nx.Graph, index, **kwargs) -> dict[int, float]:
    """dI_k = 100 × (I − I without core k) / I for each core k."""
    base = index(g, **kwargs)
    out = {}
    for n in list(g.nodes):
        h = g.copy()
        h.remove_node(n)
        out[n] = 100.0 * (base - index(h, **kwargs)) / base if base else 0.0
    return out


def metrics(cores: dict[int, float], links: list[tuple[int, int, float]], dispersal: float, landscape_area: float,
            p_at_dispersal: float = 0.5) -> dict:
    """All network metrics in one report dict (per-core values under ``cores``)."""
    g = core_graph(cores, links)
    cfc = current_flow_centrality(g)
    d_iic = importance(g, iic, dispersal=dispersal, landscape_area=landscape_area)
    d_pc = importance(g, pc, dispersal=dispersal, landscape_area=landscape_area, p_at_dispersal=p_at_dispersal)
    return {
        "dispersal": dispersal, "landscape_area": landscape_area, "p_at_dispersal": p_at_dispersal,
        "IIC": iic(g, dispersal, landscape_area), "PC": pc(g, dispersal, landscape_area, p_at_dispersal),
        "cores": [
            {"core": n, "area": g.nodes[n]["area"], "degree": g.degree[n], "current_flow_centrality": cfc[n],
             "dIIC": d_iic[n], "dPC": d_pc[n]}
            for n in sorted(g.nodes)
        ],
    }
