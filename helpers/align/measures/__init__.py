"""Measures of how alike brain and model are, one module each, behind one registry.

:mod:`~helpers.align.measures.registry` holds :class:`Measure`,
:class:`CellInput` and :func:`register`; the built-in measures register
themselves when this package is imported: Procrustes and ridge (word
retrieval through a fitted map), RSA and linear CKA (which fit nothing).
"""

from . import procrustes, ridge, rsa, cka  # noqa: F401,I001  (each registers itself, in this order)
from .registry import REGISTRY, CellInput, Measure, get, headline_rows, names, register

DEFAULT = ("procrustes", "rsa", "cka")  # the measures a scenario scores unless it names others

__all__ = ["DEFAULT", "REGISTRY", "CellInput", "Measure", "get", "headline_rows", "names", "register"]
