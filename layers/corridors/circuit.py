"""Circuit theory on a resistance grid (pinch points, effective resistance), as Circuitscape's raster mode.

Node convention (stated because the numbers depend on it):

* every passable cell centre is a node; barrier cells (NaN/inf) are removed;
* neighbouring nodes a, b are joined by a resistor of  step × (R_a + R_b) / 2  where step = 1 for the
  4 cardinal neighbours and √2 for diagonals (``averaging="conductance"``: step / ((1/R_a + 1/R_b) / 2)) (cell units, like Circuitscape: the result is in the
  resistance raster's units, independent of the cell size); ``connectivity`` = 4 or 8;
* all cells of the source core are shorted into one node (a perfect conductor), likewise the ground core;
  1 A is injected at the source and the ground node is held at 0 V;
* current of a node = the larger of the current flowing into it and out of it over its resistors, and every
  cell shows its node's current (Circuitscape's convention): a cell crossed by 1 A in a straight line carries
  1 A (= ½ Σ |current| of its resistors), and every cell of the source and of the ground core carries the
  core's total current, 1 A.

So a uniform strip of w × l cells of resistance 1, 4-connected, with the two end columns as the cores, has
R_eff = (l − 1) / w exactly (l − 1 resistors of 1 Ω in series, w rows in parallel): close to l / w for long
strips. A 1 × n chain has R_eff = Σ (R_i + R_{i+1}) / 2.

The Laplacian is assembled as CSR in one compiled pass (numba); it is solved with SuperLU (``spsolve``) below
``direct_max_nodes`` nodes and above with pyamg algebraic multigrid as a CG preconditioner: classical
Ruge–Stüben by default ("amg"), smoothed aggregation on request ("amg-sa").

``CorePairs`` gives the same answer for every pair of cores of one window with a single factorisation (the
window's graph reduced onto the cores' boundary cells): what to use when several pairs share a window.
"""
from __future__ import annotations

import contextlib
import math
import time
from dataclasses import dataclass

import numpy as np
import pyamg
from numba import njit
import scipy.sparse as sp
from scipy.sparse.linalg import spsolve

from geosig.errors import InvalidParameter

CONNECTIVITY = {4: [((0, 1), 1.0), ((1, 0), 1.0)], 8: [((0, 1), 1.0), ((1, 0), 1.0), ((1, 1), math.sqrt(2)), ((1, -1), math.sqrt(2))]}
SOLVERS = ("auto", "direct", "amg", "amg-sa")
AVERAGING = ("resistance", "conductance")  # Circuitscape's connect_using_avg_resistances True / False


@dataclass
class CircuitResult:
    resistance: float  # effective resistance between the two cores
    voltage: np.ndarray  # per cell (NaN outside the solved component)
    current: np.ndarray  # current density per cell (0 outside)
    solver: str
    nodes: int
    iterations: int | None = None
    timings: dict | None = None  # seconds: assembly, setup (AMG hierarchy / factorisation), solve, currents


def _edges(passable: np.ndarray, res: np.ndarray, connectivity: int, averaging: str = "resistance"):
    rows, cols = passable.shape
    idx = np.arange(rows * cols).reshape(rows, cols)
    us, vs, gs = [], [], []
    for (dr, dc), step in CONNECTIVITY[connectivity]:
        r0, r1 = 0, rows - dr
        c0, c1 = max(0, -dc), cols - max(0, dc)
        a = (slice(r0, r1), slice(c0, c1))
        b = (slice(r0 + dr, r1 + dr), slice(c0 + dc, c1 + dc))
        m = passable[a] & passable[b]
        us.append(idx[a][m])
        vs.append(idx[b][m])
        ra, rb = res[a][m], res[b][m]
        mean_g = 2.0 / (ra + rb) if averaging == "resistance" else 0.5 * (1.0 / ra + 1.0 / rb)
        gs.append(mean_g / step)
    return np.concatenate(us), np.concatenate(vs), np.concatenate(gs)


def pinch_points(
    resistance: np.ndarray,
    source: np.ndarray,
    ground: np.ndarray,
    window: np.ndarray | None = None,
    connectivity: int = 8,
    solver: str = "auto",
    direct_max_nodes: int = 40_000,
    tol: float = 1e-8,
    averaging: str = "resistance",
) -> CircuitResult:
    """Effective resistance and current density between two cores (boolean masks) inside ``window``.

    ``averaging``: the resistor between neighbours uses the mean of their resistances ("resistance", the
    default here) or of their conductances ("conductance", Circuitscape's default), × step."""
    res, source, ground, passable = _check_inputs(resistance, source, ground, window, connectivity, solver,
                                                  averaging)
    rows, cols = res.shape
    t0 = time.perf_counter()
    u, v, g = _edges(passable, res, connectivity, averaging)
    node = _node_numbers(passable, source, ground)
    red, live = _grounded_laplacian(node, u, v, g)
    used = solver if solver != "auto" else ("direct" if red.shape[0] <= direct_max_nodes else "amg")
    t1 = time.perf_counter()
    x, iterations, t2 = _solve(red, used, tol)
    t3 = time.perf_counter()
    volt_node = np.full(node.max() + 1, np.nan)
    volt_node[live[:-1]] = x
    volt_node[live[-1]] = 0.0
    r_eff = float(volt_node[0])
    current = _cell_currents(volt_node, node, u, v, g)
    voltage = np.where(node >= 0, volt_node[np.maximum(node, 0)], np.nan)
    t4 = time.perf_counter()
    timings = {"assembly": t1 - t0, "setup": t2 - t1, "solve": t3 - t2, "currents": t4 - t3}
    return CircuitResult(r_eff, voltage.reshape(rows, cols), current.reshape(rows, cols), used, len(live), iterations,
                         timings)


def _check_inputs(resistance, source, ground, window, connectivity, solver, averaging="resistance", need_cores=True):
    """Modes first, then values: (resistance, source, ground, passable cells) or a Spanish error."""
    if averaging not in AVERAGING:
        raise InvalidParameter(f"Promedio «{averaging}» no válido; use uno de: {', '.join(AVERAGING)}.")
    if connectivity not in CONNECTIVITY:
        raise InvalidParameter(f"Conectividad {connectivity} no válida; use una de: 4, 8.")
    if solver not in SOLVERS:
        raise InvalidParameter(f"Método de solución «{solver}» no válido; use uno de: {', '.join(SOLVERS)}.")
    res = np.asarray(resistance, dtype=np.float64)
    if np.any(res[np.isfinite(res)] <= 0):
        raise InvalidParameter("La resistencia debe ser > 0 en todas las celdas con dato.")
    source = np.asarray(source, bool)
    ground = np.asarray(ground, bool)
    if (source & ground).any():
        raise InvalidParameter("El núcleo de origen y el de tierra comparten celdas.")
    passable = np.isfinite(res)
    if window is not None:
        passable &= np.asarray(window, bool) | source | ground
    if need_cores and (not (source & passable).any() or not (ground & passable).any()):
        raise InvalidParameter("Uno de los dos núcleos no tiene celdas transitables en la ventana del circuito.")
    return res, source, ground, passable


def _node_numbers(passable, source, ground) -> np.ndarray:
    """Cell → node: source cells = node 0, other passable cells 1 … k, ground cells = node k + 1 (last), so the
    grounded system is the leading (n-1) × (n-1) block: a slice, not a fancy-indexed copy. −1 = no node."""
    node = np.full(passable.size, -1, np.int64)
    flat_pass = passable.ravel()
    others = flat_pass & ~source.ravel() & ~ground.ravel()
    k = int(others.sum())
    node[source.ravel() & flat_pass] = 0
    node[others] = 1 + np.arange(k)
    node[ground.ravel() & flat_pass] = k + 1
    return node


def _grounded_laplacian(node, u, v, g):
    """The Laplacian of the component joining both cores, ground row/column removed; and that component's nodes."""
    n = int(node.max()) + 1
    nu, nv = node[u], node[v]
    keep = nu != nv  # resistors inside a shorted core carry nothing
    nu, nv, gk = nu[keep], nv[keep], g[keep]
    # Only the component joining both cores conducts; other islands would make the system singular.
    root = _roots(nu, nv, n)
    if root[0] != root[n - 1]:
        raise InvalidParameter("No hay ninguna ruta transitable entre los dos núcleos dentro de la ventana del circuito.")
    live = np.arange(n)
    alive = root == root[0]
    if not alive.all():
        live = np.flatnonzero(alive)  # order kept: source first, ground last
        newid = np.cumsum(alive) - 1
        ek = alive[nu] & alive[nv]
        nu, nv, gk = newid[nu[ek]], newid[nv[ek]], gk[ek]
        n = len(live)
    return _laplacian(nu, nv, gk, n, n - 1), live


def _laplacian(nu, nv, g, n: int, keep: int) -> sp.csr_matrix:
    """Laplacian of the resistors (nu, nv, g) over n nodes, rows and columns ≥ ``keep`` left out (the ground),
    as a canonical CSR (sorted, duplicates summed) built in one compiled pass: scipy's COO → CSR with its
    duplicate summing and the column slice took ~0.7 s of the 0.9 s assembly on a 10⁶-node window."""
    indptr, indices, data = _csr_laplacian(nu, nv, g, n, keep)
    lap = sp.csr_matrix((data, indices, indptr), shape=(keep, keep))
    lap.has_sorted_indices = True
    lap.has_canonical_format = True
    return lap


@njit(cache=True, nogil=True)
def _csr_laplacian(nu, nv, g, n, keep):
    deg = np.zeros(n)
    cnt = np.zeros(keep + 1, np.int64)
    for k in range(len(nu)):
        a, b = nu[k], nv[k]
        deg[a] += g[k]
        deg[b] += g[k]
        if a < keep and b < keep:
            cnt[a + 1] += 1
            cnt[b + 1] += 1
    for i in range(keep):
        cnt[i + 1] += cnt[i] + 1  # + the diagonal
    pos = cnt[:-1].copy()
    cols = np.empty(cnt[keep], np.int64)
    vals = np.empty(cnt[keep])
    for i in range(keep):
        cols[pos[i]] = i
        vals[pos[i]] = deg[i]
        pos[i] += 1
    for k in range(len(nu)):
        a, b = nu[k], nv[k]
        if a < keep and b < keep:
            cols[pos[a]] = b
            vals[pos[a]] = -g[k]
            pos[a] += 1
            cols[pos[b]] = a
            vals[pos[b]] = -g[k]
            pos[b] += 1
    # Sort each (short) row by column and sum duplicates (several cells of a shorted core next to one cell).
    indptr = np.zeros(keep + 1, np.int32)
    out = 0
    for i in range(keep):
        lo, hi = cnt[i], cnt[i + 1]
        if hi - lo > 32:  # a shorted core's row: one entry per resistor leaving it
            order = np.argsort(cols[lo:hi], kind="mergesort") + lo
            cols[lo:hi] = cols[order]
            vals[lo:hi] = vals[order]
        for j in range(lo + 1, hi):  # insertion sort: ordinary rows have ≤ 9 entries
            c, x = cols[j], vals[j]
            m = j - 1
            while m >= lo and cols[m] > c:
                cols[m + 1] = cols[m]
                vals[m + 1] = vals[m]
                m -= 1
            cols[m + 1] = c
            vals[m + 1] = x
        j = lo
        while j < hi:
            c, x = cols[j], vals[j]
            j += 1
            while j < hi and cols[j] == c:
                x += vals[j]
                j += 1
            cols[out] = c
            vals[out] = x
            out += 1
        indptr[i + 1] = out
    return indptr, cols[:out].astype(np.int32), vals[:out].copy()


@njit(cache=True, nogil=True)
def _roots(nu, nv, n):
    """Connected components by union–find: the root of each node's component (path halving)."""
    parent = np.arange(n)
    for k in range(len(nu)):
        a, b = nu[k], nv[k]
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        while parent[b] != b:
            parent[b] = parent[parent[b]]
            b = parent[b]
        if a != b:
            if a < b:
                parent[b] = a
            else:
                parent[a] = b
    for i in range(n):
        r = i
        while parent[r] != r:
            r = parent[r]
        parent[i] = r
    return parent


def _solve(red, used: str, tol: float):
    """Voltages with 1 A into node 0: (x, iterations or None, time when the setup ended)."""
    b = np.zeros(red.shape[0])
    b[0] = 1.0
    if used == "direct":
        x = spsolve(red.tocsc(), b)
        return x, None, time.perf_counter()
    # Classical (Ruge–Stüben) AMG: the grounded Laplacian is an M-matrix, its natural case. On a 10⁶-node
    # grid here its setup took ~1.4 s against 8–18 s for smoothed aggregation (dominated by spectral-radius
    # estimates), for the same answer. "amg-sa" keeps smoothed aggregation available.
    if used == "amg-sa":
        ml = pyamg.smoothed_aggregation_solver(red, symmetry="hermitian", max_coarse=500)
    else:
        ml = pyamg.ruge_stuben_solver(red, max_coarse=500)
    t_setup = time.perf_counter()
    residuals: list[float] = []
    x = ml.solve(b, tol=tol, accel="cg", maxiter=500, residuals=residuals)
    return x, len(residuals), t_setup


def _cell_currents(volt_node, node, u, v, g) -> np.ndarray:
    """Each cell shows its node's current, max(in, out) over the node's resistors: a core (one shorted node)
    shows its total current on every cell, as Circuitscape writes focal nodes."""
    nu, nv = node[u], node[v]
    i_edge = g * (volt_node[nu] - volt_node[nv])
    i_edge[~np.isfinite(i_edge) | (nu == nv)] = 0.0  # off the solved component, or inside a shorted core
    n = int(node.max()) + 1
    pos, neg = np.maximum(i_edge, 0.0), np.maximum(-i_edge, 0.0)
    out = np.bincount(nu, pos, n) + np.bincount(nv, neg, n)
    inn = np.bincount(nv, pos, n) + np.bincount(nu, neg, n)
    per_node = np.maximum(inn, out)
    return np.where(node >= 0, per_node[np.maximum(node, 0)], 0.0)


class CorePairs:
    """Pinch points for every pair of cores of one window, with one factorisation for all of them.

    ``pair(a, b)`` gives exactly what ``pinch_points(resistance, cores == a, cores == b, ...)`` gives: only
    that pair's two cores shorted, every other core an ordinary group of cells. The window's graph is the same
    for every pair (all cells, all resistors), so it is reduced once (Kron reduction / Schur complement) onto
    the *boundary* cells B of all cores — core cells with a resistor to a cell outside their own core; every
    other cell is eliminated. For a pair, shorting a core is the same as holding all its cells at one voltage,
    so with V = 1 on B_a and V = 0 on B_b the other boundary voltages come from a small dense system on S (the
    reduced matrix), the current I out of a from S as well; R_eff = 1 / I and every voltage is scaled by
    1 / I (1 A, ground 0 V, as ``pinch_points``); the eliminated cells then take one backward substitution
    with the big factor. Interior cells of a and b (no resistor leaving their core) end up at the core's
    voltage, so they need no special case. Cells of components that contain neither core carry nothing
    (voltage NaN, current 0), as in ``pinch_points``.

    ``window`` keeps its cells plus every core's cells (``pinch_points`` adds only the pair's two cores: the
    two agree when the window contains the other cores). ``threads``: MKL threads for the factorisation and
    the solves (thread-local; Omniscape's one-thread default is untouched)."""

    def __init__(self, resistance: np.ndarray, cores: np.ndarray, window: np.ndarray | None = None,
                 connectivity: int = 8, averaging: str = "resistance", solver: str = "auto", threads: int = 1):
        from .schur import Schur

        t0 = time.perf_counter()
        labels = np.asarray(cores)
        if labels.shape != np.shape(resistance):
            raise InvalidParameter(f"La cuadrícula de núcleos {labels.shape} no tiene el tamaño de la resistencia "
                                   f"{np.shape(resistance)}.")
        any_core = labels > 0
        res, _, _, passable = _check_inputs(resistance, any_core, np.zeros_like(any_core), window, connectivity,
                                            "auto", averaging, need_cores=False)
        self.shape = res.shape
        lab = np.where(passable, labels, 0).ravel().astype(np.int64)
        self.labels = lab
        self.ids = [int(x) for x in np.unique(lab[lab > 0])]
        u, v, g = _edges(passable, res, connectivity, averaging)
        ncell = res.size
        comp = _roots(u, v, ncell)  # component label = its root cell
        ncomp = ncell
        boundary = np.zeros(ncell, bool)
        cross = lab[u] != lab[v]
        boundary[u[cross & (lab[u] > 0)]] = True
        boundary[v[cross & (lab[v] > 0)]] = True
        # Only components with a boundary cell can ever conduct; the others (core-free islands, a core piece
        # walled in by nodata) are left out of the matrix, which keeps the eliminated block positive definite.
        has_b = np.zeros(ncomp, bool)
        has_b[comp[boundary]] = True
        alive = passable.ravel() & has_b[comp]
        self.cells = np.flatnonzero(alive)  # matrix row → cell
        newid = np.full(ncell, -1, np.int64)
        newid[self.cells] = np.arange(len(self.cells))
        keep_e = alive[u]
        nu, nv, gk = newid[u[keep_e]], newid[v[keep_e]], g[keep_e]
        m = len(self.cells)
        lap = _laplacian(nu, nv, gk, m, m)
        self.u, self.v, self.g, self.comp, self.passable, self.ncomp = u, v, g, comp, passable.ravel(), ncomp
        order = np.argsort(lab, kind="stable")
        bounds = np.searchsorted(lab[order], self.ids + [np.inf])
        self.core_cells = {c: order[bounds[i]:bounds[i + 1]] for i, c in enumerate(self.ids)}
        self.core_comps = {c: np.unique(comp[cells]) for c, cells in self.core_cells.items()}
        t1 = time.perf_counter()
        keep = boundary[self.cells]
        # No boundary cell at all (every core walled in): no pair can conduct, each raises «ninguna ruta».
        self.schur = Schur(lap, keep, solver=solver, threads=threads) if keep.any() else None
        self.bcells = self.cells[keep]  # boundary cells, in the order of S
        self.blab = lab[self.bcells]
        self.bcomp = comp[self.bcells]
        self.solver = f"schur-{self.schur.solver if self.schur else solver}"
        self.timings = {"assembly": t1 - t0, **(self.schur.timings if self.schur else {}),
                        "setup": time.perf_counter() - t1}

    @property
    def pairs(self) -> list[tuple[int, int]]:
        return [(a, b) for i, a in enumerate(self.ids) for b in self.ids[i + 1:]]

    def pair(self, a: int, b: int) -> CircuitResult:
        """Effective resistance, voltage and current of the circuit between cores ``a`` (1 A in) and ``b``
        (ground), as ``pinch_points`` for that pair."""
        return next(self.all_pairs([(a, b)]))[1]

    def all_pairs(self, pairs: list[tuple[int, int]] | None = None, batch: int = 8):
        """Yield ((a, b), CircuitResult) for ``pairs`` (default: every pair of cores); the interior voltages
        of ``batch`` pairs come from one pass over the factor. A pair with no path raises, as ``pinch_points``."""
        pairs = self.pairs if pairs is None else [(int(a), int(b)) for a, b in pairs]
        for a, b in pairs:
            if a == b or a not in self.ids or b not in self.ids:
                raise InvalidParameter(f"Par de núcleos ({a}, {b}) no válido; núcleos en la ventana: "
                                       f"{', '.join(map(str, self.ids))}.")
        for i0 in range(0, len(pairs), batch):
            chunk = pairs[i0:i0 + batch]
            t0 = time.perf_counter()
            with _one_blas_thread():
                reduced = [self._reduced(a, b) for a, b in chunk]
            t1 = time.perf_counter()
            xs = self.schur.extend(np.array([vb for vb, _, _ in reduced]))
            t2 = time.perf_counter()
            for (a, b), (_, r_eff, live_comp), x in zip(chunk, reduced, xs):
                t3 = time.perf_counter()
                out = self._result(a, b, r_eff, live_comp, x)
                out.timings = {"reduced_solve": (t1 - t0) / len(chunk), "interior": (t2 - t1) / len(chunk),
                               "currents": time.perf_counter() - t3}
                yield (a, b), out

    def _reduced(self, a: int, b: int):
        """Boundary voltages (1 A scale), R_eff and the components that conduct, for the pair (a, b)."""
        from scipy.linalg import solve as dense_solve

        comps_a, comps_b = self.core_comps[a], self.core_comps[b]
        if not np.intersect1d(comps_a, comps_b).size:
            raise InvalidParameter("No hay ninguna ruta transitable entre los dos núcleos dentro de la ventana del circuito.")
        live_comp = np.zeros(self.ncomp, bool)
        live_comp[comps_a] = live_comp[comps_b] = True
        da, db = self.blab == a, self.blab == b
        free = ~da & ~db & live_comp[self.bcomp]
        s = self.schur.s
        vb = np.zeros(len(self.bcells))
        vb[da] = 1.0
        if free.any():
            vb[free] = dense_solve(s[np.ix_(free, free)], -s[np.ix_(free, da)].sum(axis=1), assume_a="pos",
                                   check_finite=False)
        current = float((s[da] @ vb).sum())  # S's rows of a: what each boundary cell of a injects
        r_eff = 1.0 / current
        return vb * r_eff, r_eff, live_comp

    def _result(self, a, b, r_eff, live_comp, x) -> CircuitResult:
        ca, cb = self.core_cells[a], self.core_cells[b]
        ncell = self.labels.size
        volt = np.full(ncell, np.nan)
        volt[self.cells] = x
        live = self.passable & live_comp[self.comp]
        volt[~live] = np.nan
        volt[ca] = r_eff  # exactly: the core is one node
        volt[cb] = 0.0
        cur = _pair_currents(volt, self.u, self.v, self.g, ca, cb, ncell)
        nodes = int(live.sum()) - len(ca) - len(cb) + 2
        return CircuitResult(r_eff, volt.reshape(self.shape), cur.reshape(self.shape), self.solver, nodes)

    def release(self) -> None:
        if self.schur is not None:
            self.schur.release()


def _one_blas_thread():
    """OpenBLAS on one thread for the small dense solves: after PARDISO has run, MKL's OpenMP threads and
    OpenBLAS's own fought over the 2 cores and a 600 × 600 Cholesky solve took 0.68 s instead of 0.03 s."""
    try:
        from threadpoolctl import threadpool_limits  # installed with scikit-learn; optional here
    except ImportError:  # pragma: no cover
        return contextlib.nullcontext()
    return threadpool_limits(1, user_api="blas")


def _pair_currents(volt, u, v, g, ca, cb, ncell) -> np.ndarray:
    """max(in, out) per cell; each of the two shorted cores shows its total, as ``_cell_currents``."""
    inn, out = _in_out(volt, u, v, g, ncell)
    cur = np.maximum(inn, out)
    for cells in (ca, cb):
        cur[cells] = max(inn[cells].sum(), out[cells].sum())
    return cur


@njit(cache=True, nogil=True)
def _in_out(volt, u, v, g, n):
    """Current into and out of each cell over its resistors, in one pass over the resistors (the numpy form,
    four bincounts over 4 M resistors, took 0.2 s per pair on the 1 M-cell window). NaN voltage = not solved,
    nothing flows; inside a shorted core both ends hold the same voltage, nothing flows either."""
    inn = np.zeros(n)
    out = np.zeros(n)
    for k in range(len(u)):
        i = g[k] * (volt[u[k]] - volt[v[k]])
        if i > 0:
            out[u[k]] += i
            inn[v[k]] += i
        elif i < 0:
            out[v[k]] -= i
            inn[u[k]] -= i
    return inn, out
