"""The backends of :mod:`helpers.align.ridge_cv`: the few array operations the ridge algorithm needs.

One class per kind of array, with the same methods: NumPy arrays with
SciPy's LAPACK and BLAS (:class:`_Numpy`), and PyTorch tensors on the CPU or
a GPU (:class:`_Torch`, PyTorch imported only when asked for).
:func:`get_backend` picks one by name, as himalaya's ``set_backend`` does.
"""

from __future__ import annotations

import warnings

import numpy as np
from scipy import linalg
from scipy.linalg import blas

from ..brain.reduction import Decompositions

BACKENDS = ("numpy", "torch", "torch_cuda", "auto")
KEPT_BYTES = 256 * 2**20  # the NumPy backend's decompositions kept for reuse (:class:`_Numpy`)


def get_backend(name: str):
    """The array operations of backend ``name``, one of :data:`BACKENDS`.

    Parameters
    ----------
    name : {"numpy", "torch", "torch_cuda", "auto"}
        ``"numpy"``: NumPy and SciPy. ``"torch"``: PyTorch tensors on the CPU.
        ``"torch_cuda"``: PyTorch tensors on the current CUDA device.
        ``"auto"``: ``"torch_cuda"`` when ``torch.cuda.is_available()``, else ``"numpy"``.

    Raises
    ------
    ValueError
        For an unknown name. ``ImportError`` for a torch backend without
        PyTorch installed; ``RuntimeError`` for ``"torch_cuda"`` without a GPU.
    """
    if not isinstance(name, str) or name not in BACKENDS:
        raise ValueError(f"unknown backend {name!r}; choose one of {', '.join(repr(b) for b in BACKENDS)}.")
    if name == "auto":
        try:
            import torch
            name = "torch_cuda" if torch.cuda.is_available() else "numpy"
        except ImportError:
            name = "numpy"
    if name == "numpy":
        return NUMPY
    try:
        import torch
    except ImportError as error:
        raise ImportError(f"backend={name!r} needs PyTorch, which is not installed; install torch or use backend='numpy'.") from error
    if name == "torch_cuda" and not torch.cuda.is_available():
        raise RuntimeError(
            f"backend='torch_cuda' needs a CUDA GPU, but torch.cuda.is_available() is False (torch {torch.__version__}, "
            f"CUDA build {torch.version.cuda}); use backend='auto' to fall back to NumPy, or backend='torch' for the CPU."
        )
    return _Torch(torch, "cuda" if name == "torch_cuda" else "cpu")


class _Numpy:
    """NumPy arrays, SciPy's LAPACK (``eigh`` with the ``evd`` driver, ``qr``, Cholesky ``solve``) and BLAS ``trmm``.

    ``eigh`` and ``qr`` keep their results (:class:`~helpers.brain.reduction.Decompositions`,
    up to :data:`KEPT_BYTES`) by the bytes of the matrix they were given.
    Fitted to one model layer at a time, every layer of a model has the
    same brain side, whose decompositions (each inner fold's Gram matrix,
    its validation rows) are most of a fit's work.
    """

    name = "numpy"
    float32, float64 = np.float32, np.float64

    def __init__(self):
        self.kept = Decompositions(KEPT_BYTES)

    def asarray(self, a):
        """A NumPy array (or anything ``np.asarray`` takes) as this backend's array, dtype kept."""
        return np.asarray(a)

    def to_numpy(self, a) -> np.ndarray:
        return np.asarray(a)  # a NumPy array as it is; the torch backends copy to the host

    def index(self, a):
        """A NumPy index or boolean mask usable on this backend's arrays."""
        return a

    def astype(self, a, dtype, copy=True):
        return a.astype(dtype, copy=copy)

    def zeros(self, shape, dtype=np.float64):
        return np.zeros(shape, dtype=dtype)

    def empty(self, shape, dtype=np.float64):
        return np.empty(shape, dtype=dtype)

    def dtype(self, numpy_dtype):
        """This backend's dtype for a NumPy float dtype."""
        return numpy_dtype

    def sum64(self, a):
        """Column sums accumulated in float64."""
        return a.sum(axis=0, dtype=np.float64)

    def mean64(self, a):
        """Column means accumulated in float64."""
        return a.mean(axis=0, dtype=np.float64)

    def outer(self, a, b):
        return np.outer(a, b)

    def concatenate(self, parts):
        return np.concatenate(parts)

    def take_square(self, a, order):
        """``a[order][:, order]``."""
        return a[np.ix_(order, order)]

    def eigh(self, a, overwrite=False):
        """Eigenvalues (ascending, negatives clipped to 0) and eigenvectors of a symmetric PSD matrix (read-only)."""
        def make():
            values, vectors = linalg.eigh(a, overwrite_a=overwrite, check_finite=False, driver="evd")
            return np.maximum(values, 0.0), vectors

        return self.kept.get("eigh", a, make)

    def qr(self, a):
        """The economic QR decomposition (read-only)."""
        return self.kept.get("qr", a, lambda: linalg.qr(a, mode="economic", check_finite=False))

    def fortran(self, a):
        return np.asfortranarray(a)

    def contiguous(self, a):
        return np.ascontiguousarray(a)

    def trmm(self, r, b):
        """``r @ b`` for an upper-triangular ``r`` (in Fortran order), by BLAS ``trmm``."""
        return (blas.strmm if r.dtype == np.float32 else blas.dtrmm)(1.0, r, b)

    def solve_pos(self, a, b):
        """``a^-1 b`` for a positive definite ``a`` (overwritten), in ``a``'s precision."""
        return linalg.solve(a, b, assume_a="pos", overwrite_a=True, check_finite=False)

    def add_to_diagonal(self, a, value):
        a[np.diag_indices_from(a)] += value

    def column_sq_sums(self, a, overwrite=False):
        """Sum of squares per column, float64; a float32 ``a`` is summed in float32 (four times faster)."""
        squares = np.square(a, out=a if overwrite else None)
        return squares.sum(axis=0).astype(np.float64)

    def column_dots(self, a, b):
        """``sum_i a_ij b_ij`` per column ``j``."""
        return np.einsum("ij,ij->j", a, b)


class _Torch:
    """The operations of :class:`_Numpy` on PyTorch tensors on ``device`` (``"cpu"`` or ``"cuda"``).

    Triangular products are plain matrix products (PyTorch has no ``trmm``);
    ``fortran`` keeps a tensor as it is; ``eigh`` is ``torch.linalg.eigh``
    and ``solve_pos`` a Cholesky factorisation and solve.
    """

    def __init__(self, torch, device: str):
        self.torch, self.device = torch, torch.device(device)
        self.name = "torch" if device == "cpu" else "torch_cuda"
        self.float32, self.float64 = torch.float32, torch.float64

    def asarray(self, a):
        if isinstance(a, self.torch.Tensor):
            return a.to(self.device)
        with warnings.catch_warnings():  # a read-only input is shared, never written to
            warnings.simplefilter("ignore", UserWarning)
            return self.torch.as_tensor(np.asarray(a), device=self.device)

    def to_numpy(self, a) -> np.ndarray:
        return a.detach().cpu().numpy() if isinstance(a, self.torch.Tensor) else np.asarray(a)

    def index(self, a):
        return self.torch.as_tensor(a, device=self.device)

    def astype(self, a, dtype, copy=True):
        return a.to(dtype, copy=copy)

    def zeros(self, shape, dtype=None):
        return self.torch.zeros(shape, dtype=dtype or self.float64, device=self.device)
    def empty(self, shape, dtype=None):
        return self.torch.empty(shape, dtype=dtype or self.float64, device=self.device)

    def dtype(self, numpy_dtype):
        return self.float32 if np.dtype(numpy_dtype) == np.float32 else self.float64

    def sum64(self, a):
        return a.sum(dim=0, dtype=self.float64)
    def mean64(self, a):
        return a.mean(dim=0, dtype=self.float64)

    def outer(self, a, b):
        return self.torch.outer(a, b)
    def concatenate(self, parts):
        return self.torch.cat(parts)

    def take_square(self, a, order):
        order = self.index(order)
        return a[order][:, order]

    def eigh(self, a, overwrite=False):
        values, vectors = self.torch.linalg.eigh(a)
        return values.clamp(min=0.0), vectors

    def qr(self, a):
        return self.torch.linalg.qr(a, mode="reduced")

    def fortran(self, a):
        return a
    def contiguous(self, a):
        return a.contiguous()
    def trmm(self, r, b):
        return r @ b

    def solve_pos(self, a, b):
        return self.torch.cholesky_solve(b.to(a.dtype), self.torch.linalg.cholesky(a))

    def add_to_diagonal(self, a, value):
        a.diagonal().add_(value)

    def column_sq_sums(self, a, overwrite=False):
        squares = a.square_() if overwrite else a.square()
        return squares.sum(dim=0).to(self.float64)

    def column_dots(self, a, b):
        return (a * b).sum(dim=0)


NUMPY = _Numpy()
