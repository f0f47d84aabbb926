"""Reading MATLAB ``.mat`` files the way the fMRI datasets store them.

``scipy.io.loadmat`` (with ``squeeze_me=False, struct_as_record=True``, the
settings used here) returns every MATLAB value as a 2-D numpy array:

* a number ``x`` comes back as a ``(1, 1)`` array;
* a string as a 1-element array of str (``array(['Harry'])``); the empty
  string as an empty array;
* a cell array as an object array whose elements are such arrays;
* a struct as a ``(1, 1)`` record array; a struct array of ``n`` elements
  as a ``(1, n)`` record array, each field an object array of values.

The small functions below unwrap these shapes, whatever the orientation of
a vector (MATLAB files hold both ``1 x n`` and ``n x 1``), and raise one
clear error naming the file and the field when the layout is not the
expected one. Voxel indices in these files are MATLAB's, 1-based.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import scipy.io

UNLABELLED = "unlabelled"


def read(path: str | os.PathLike, what: str, how_to_get: str) -> dict[str, Any]:
    """The variables of a ``.mat`` file, or one clear error.

    Parameters
    ----------
    path : path
        The file.
    what : str
        What the file should be, for messages (``"Harry Potter subject file"``).
    how_to_get : str
        What to do when the file is missing (a sentence).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{what} {path} does not exist. {how_to_get}")
    try:
        return scipy.io.loadmat(path, squeeze_me=False, struct_as_record=True)
    except NotImplementedError as err:  # MATLAB v7.3 (HDF5) files
        raise ValueError(f"{path} is a MATLAB v7.3 (HDF5) file, not the v5 .mat format of the {what}: {err}") from err
    except Exception as err:  # scipy raises many types for a damaged file
        raise ValueError(
            f"{path} could not be read as a MATLAB file ({type(err).__name__}: {err}); it may be truncated or "
            f"corrupt. Delete it and download it again. {how_to_get}"
        ) from err


def field(container: Any, name: str, where: str) -> Any:
    """A variable of a loaded file (a dict) or a field of a struct (a record), by name."""
    names = container.keys() if isinstance(container, dict) else (container.dtype.names or ())
    if name not in names:
        shown = sorted(n for n in names if not n.startswith("__"))
        raise ValueError(f"{where} has no field {name!r} (it has: {', '.join(shown) or 'nothing'}); the file does not have the expected layout.")
    return container[name]


def struct(value: Any, where: str) -> np.void:
    """The single record of a ``1 x 1`` MATLAB struct."""
    if not isinstance(value, np.ndarray) or value.dtype.names is None or value.size != 1:
        raise ValueError(f"{where} should be a 1 x 1 MATLAB struct, got {_describe(value)}.")
    return value.reshape(-1)[0]


def string(value: Any, where: str) -> str:
    """A MATLAB character array as a str (empty array: ``""``)."""
    array = np.asarray(value)
    if array.size == 0:
        return ""
    if array.dtype.kind != "U" or array.size != 1:
        raise ValueError(f"{where} should be a string, got {_describe(value)}.")
    return str(array.reshape(-1)[0])


def cell_string(value: Any, where: str) -> str:
    """A string stored either as a MATLAB character array or as a 1 x 1 cell holding one.

    The Harry Potter files store each word's ``text`` as a 1 x 1 cell, which
    ``loadmat`` returns as a ``(1, 1)`` object array around the string.
    """
    array = np.asarray(value)
    if array.dtype == object:
        if array.size != 1:
            raise ValueError(f"{where} should be a string or a 1 x 1 cell holding one, got {_describe(value)}.")
        return string(array.reshape(-1)[0], f"{where}{{1}}")
    return string(value, where)


def strings(value: Any, where: str) -> np.ndarray:
    """A MATLAB cell vector of strings as a 1-D array of str."""
    cells = np.asarray(value)
    if cells.dtype != object or (cells.ndim == 2 and min(cells.shape) > 1):
        raise ValueError(f"{where} should be a cell vector of strings, got {_describe(value)}.")
    return np.array([string(cell, f"{where}{{{i + 1}}}") for i, cell in enumerate(cells.reshape(-1))], dtype=str)


def scalar(value: Any, where: str) -> float:
    """A MATLAB number as a float."""
    array = np.asarray(value)
    if array.size != 1 or array.dtype.kind not in "biuf":
        raise ValueError(f"{where} should be a single number, got {_describe(value)}.")
    return float(array.reshape(-1)[0])


def vector(value: Any, where: str) -> np.ndarray:
    """A MATLAB numeric vector (``1 x n`` or ``n x 1``) as a 1-D array."""
    array = np.asarray(value)
    if array.dtype.kind not in "biuf" or (array.ndim == 2 and min(array.shape) > 1) or array.ndim > 2:
        raise ValueError(f"{where} should be a numeric vector, got {_describe(value)}.")
    return array.reshape(-1)


def matrix(value: Any, where: str, n_columns: int | None = None) -> np.ndarray:
    """A 2-D numeric MATLAB array, optionally with a given number of columns."""
    array = np.asarray(value)
    if array.dtype.kind not in "biuf" or array.ndim != 2 or (n_columns is not None and array.shape[1] != n_columns):
        wanted = f"(n, {n_columns})" if n_columns is not None else "2-D"
        raise ValueError(f"{where} should be a {wanted} numeric array, got {_describe(value)}.")
    return array


def struct_array_field(value: Any, name: str, where: str) -> np.ndarray:
    """The values of one field across a MATLAB struct array, in order (an object array)."""
    if not isinstance(value, np.ndarray) or value.dtype.names is None or (value.ndim == 2 and min(value.shape) > 1):
        raise ValueError(f"{where} should be a MATLAB struct vector, got {_describe(value)}.")
    return field(value, name, where).reshape(-1)


def voxel_mni(col_to_coord: np.ndarray, affine: np.ndarray, where: str) -> np.ndarray:
    """MNI coordinates (mm) of voxels from their 1-based MATLAB indices and a voxel-to-MNI matrix.

    ``affine`` is read as an SPM ``.mat`` matrix: it maps MATLAB's 1-based
    voxel indices ``(i, j, k)`` to millimetres, ``mni = affine @ [i, j, k, 1]``
    (the same point as a NIfTI affine applied to the 0-based indices
    ``(i - 1, j - 1, k - 1)``).
    """
    coords = matrix(col_to_coord, f"{where}.colToCoord", n_columns=3)
    affine = matrix(affine, f"{where}.matrix", n_columns=4)
    if affine.shape != (4, 4):
        raise ValueError(f"{where}.matrix should be a 4 x 4 voxel-to-MNI matrix, got shape {affine.shape}.")
    if coords.size and coords.min() < 1:
        raise ValueError(f"{where}.colToCoord holds voxel index {coords.min():g}; MATLAB indices start at 1.")
    return (np.c_[coords.astype(np.float64), np.ones(len(coords))] @ affine.T)[:, :3]


def region_names(numbers: np.ndarray, names: np.ndarray, where: str) -> np.ndarray:
    """Atlas label of each voxel from 1-based region numbers; 0 gives :data:`UNLABELLED`."""
    numbers = np.asarray(numbers)
    if numbers.size and (numbers.min() < 0 or numbers.max() > len(names) or np.any(numbers != np.round(numbers))):
        raise ValueError(f"{where}: region numbers must be integers from 0 (no label) to {len(names)}, got {numbers.min():g} to {numbers.max():g}.")
    table = np.concatenate([[UNLABELLED], names]).astype(str)
    return table[numbers.astype(np.int64)]


def _describe(value: Any) -> str:
    if isinstance(value, np.ndarray):
        kind = "struct" if value.dtype.names else ("cell" if value.dtype == object else str(value.dtype))
        return f"a {kind} array of shape {value.shape}"
    return type(value).__name__
