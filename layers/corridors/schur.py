"""Kron reduction (Schur complement) of a symmetric sparse matrix onto a few kept nodes, factorised once.

Used by ``circuit.CorePairs``: a window's Laplacian reduced onto the boundary cells of its cores serves every
pair of cores. MKL PARDISO (through ``layers.connectivity.linsolve``'s handle) returns the dense Schur complement
during its factorisation and keeps the factor of the eliminated block for the interior voltages; SciPy's
SuperLU is the portable fallback (same answers to rounding, slower: one solve per kept node).
"""
from __future__ import annotations

import contextlib
import ctypes
import time

import numpy as np
import scipy.sparse as sp
from numba import njit
from scipy.sparse.linalg import splu

from layers.connectivity import linsolve


class Schur:
    """Kron reduction of a symmetric matrix A onto the nodes ``keep`` (K), the others (E) eliminated: the dense
    S = A_KK − A_KE A_EE⁻¹ A_EK from one factorisation of A_EE, and ``extend(x_K)`` = the full x with
    x_E = −A_EE⁻¹ A_EK x_K (what E takes when K is held at x_K and nothing is injected into E).

    A_EE must be positive definite (every connected piece of E touches K); A itself may be singular (a
    Laplacian). PARDISO computes S during the factorisation (iparm[35] = 2, K marked in ``perm``) and
    ``extend`` is one backward substitution (phase 333) with x_K in the Schur rows; SuperLU (fallback) does
    |K| solves for S. ``threads``: MKL threads for this object's calls only (thread-local), so the
    one-thread default that Omniscape's parallel windows rely on is not changed."""

    def __init__(self, a: sp.spmatrix, keep: np.ndarray, solver: str = "auto", threads: int = 1):
        self.solver = linsolve.resolve(solver)
        self.threads = threads
        self.keep = np.asarray(keep, bool)
        self.n = a.shape[0]
        self.kidx = np.flatnonzero(self.keep)
        self.eidx = np.flatnonzero(~self.keep)
        self.timings = {}
        self.factor_nnz = None
        a = sp.csr_matrix(a)
        if self.solver == "pardiso":
            self._pardiso(a)
        else:
            self._splu(a)

    def _pardiso(self, a):
        # A Laplacian's S is singular: as the trailing block of an SPD factorisation its last pivots would be ~0
        # (PARDISO error −4 on scattered kept nodes). Adding δ to the kept diagonal adds exactly δ·I to S and
        # nothing to the eliminated block's factor, so S + δI is returned positive definite and δ is taken off.
        self._shift = float(a.diagonal()[self.kidx].mean()) if len(self.kidx) else 0.0
        a.sort_indices()
        self._ia, self._ja, self._a = _upper_one_based(a.indptr, a.indices, a.data, self.keep, self._shift)
        self._pd = linsolve._Handle()
        self._pd.iparm[35] = 2  # Schur complement of the rows marked in perm; keep the factor for phase 333
        self._pd.perm = self.keep.astype(np.int32)
        k = len(self.kidx)
        t0 = time.perf_counter()
        self._call(11, np.zeros(self.n), np.zeros(self.n))
        t1 = time.perf_counter()
        s = np.zeros(k * k)
        self._call(22, np.zeros(self.n), s)  # S comes back in x, row-major (symmetric anyway)
        self.timings = {"analysis": t1 - t0, "factorisation": time.perf_counter() - t1}
        self.factor_nnz = int(self._pd.iparm[17])
        self.s = s.reshape(k, k)
        self.s[np.diag_indices(k)] -= self._shift

    def _splu(self, a):
        t0 = time.perf_counter()
        a = a.tocsc()
        ee = a[self.eidx][:, self.eidx].tocsc()
        ek = a[self.eidx][:, self.kidx].tocsc()
        self._ek = ek
        self._lu = splu(ee, permc_spec="MMD_AT_PLUS_A", options={"SymmetricMode": True}) if len(self.eidx) else None
        t1 = time.perf_counter()
        s = a[self.kidx][:, self.kidx].toarray()
        if self._lu is not None:
            for j0 in range(0, len(self.kidx), 64):  # blocks of columns: never an n × |K| dense array
                cols = ek[:, j0:j0 + 64].toarray()
                s[:, j0:j0 + 64] -= ek.T @ self._lu.solve(cols)
        self.timings = {"analysis": 0.0, "factorisation": t1 - t0, "schur": time.perf_counter() - t1}
        self.s = s

    def extend(self, xk: np.ndarray) -> np.ndarray:
        """Full vector(s) from the kept values: ``xk`` of |K| values, or k × |K| (one row per case, one pass
        over the factor for all of them) → n or k × n."""
        xk = np.asarray(xk, dtype=np.float64)
        one = xk.ndim == 1
        xk = np.atleast_2d(xk)
        x = np.zeros((xk.shape[0], self.n))
        x[:, self.kidx] = xk
        if self.solver == "pardiso":
            # With nothing injected into E the forward substitution gives zeros there, so the backward
            # substitution alone gives x_E = −L_EEᵀ⁻¹ (L_EE⁻¹ A_EK) x_K. Row i of a C-ordered k × n array is
            # right-hand side i for PARDISO (column-major n × k).
            out = np.zeros_like(x)
            self._call(333, x, out, nrhs=xk.shape[0])
            out[:, self.kidx] = xk
            x = out
        elif self._lu is not None:
            x[:, self.eidx] = -self._lu.solve(np.asfortranarray((self._ek @ xk.T))).T
        return x[0] if one else x

    def _call(self, phase: int, b: np.ndarray, x: np.ndarray, nrhs: int = 1) -> None:
        pd = self._pd
        err = ctypes.c_int32(0)
        i32 = ctypes.POINTER(ctypes.c_int32)
        f64 = ctypes.POINTER(ctypes.c_double)
        with mkl_threads(self.threads):
            pd._mkl_pardiso(pd.pt.ctypes.data_as(ctypes.POINTER(pd._pt_type[0])), ctypes.byref(ctypes.c_int32(1)),
                            ctypes.byref(ctypes.c_int32(1)), ctypes.byref(ctypes.c_int32(2)),
                            ctypes.byref(ctypes.c_int32(phase)), ctypes.byref(ctypes.c_int32(self.n)),
                            self._a.ctypes.data_as(f64), self._ia.ctypes.data_as(i32),
                            self._ja.ctypes.data_as(i32), pd.perm.ctypes.data_as(i32),
                            ctypes.byref(ctypes.c_int32(nrhs)), pd.iparm.ctypes.data_as(i32),
                            ctypes.byref(ctypes.c_int32(0)), b.ctypes.data_as(f64), x.ctypes.data_as(f64),
                            ctypes.byref(err))
        if err.value != 0:
            raise ArithmeticError(f"PARDISO error {err.value} in phase {phase}")

    def release(self) -> None:
        if self.solver == "pardiso" and self._pd is not None:
            self._call(-1, np.zeros(self.n), np.zeros(self.n))
            self._pd = None


@njit(cache=True)
def _upper_one_based(indptr, indices, data, keep, shift):
    """Upper triangle of a CSR matrix with sorted rows, ``shift`` added to the diagonal of the kept rows, as
    PARDISO's one-based int32 arrays (scipy's triu + copy + sort took ~1 s of the setup on 10⁶ nodes)."""
    n = len(indptr) - 1
    ia = np.ones(n + 1, np.int32)
    ja = np.empty(len(indices), np.int32)
    a = np.empty(len(indices))
    m = 0
    for i in range(n):
        for p in range(indptr[i], indptr[i + 1]):
            j = indices[p]
            if j >= i:
                ja[m] = j + 1
                a[m] = data[p] + (shift if j == i and keep[i] else 0.0)
                m += 1
        ia[i + 1] = m + 1
    return ia, ja[:m].copy(), a[:m].copy()


@contextlib.contextmanager
def mkl_threads(n: int):
    """MKL threads for the calling thread only (MKL_Set_Num_Threads_Local), restored on exit."""
    lib = linsolve._LIB["proto"].libmkl if "proto" in linsolve._LIB else None
    fn = getattr(lib, "MKL_Set_Num_Threads_Local", None) if lib is not None else None  # C interface, by value
    if fn is None:
        yield
        return
    previous = fn(ctypes.c_int(int(n)))
    try:
        yield
    finally:
        fn(ctypes.c_int(previous))
