"""Stage 4: how alike two spaces are over the same words.

:mod:`~helpers.align.folds` (splits with unseen test types),
:mod:`~helpers.align.retrieval` (cosine, CSLS, precision@k, chance),
:mod:`~helpers.align.procrustes`, :mod:`~helpers.align.ridge`,
:mod:`~helpers.align.rsa` (RDMs) and :mod:`~helpers.align.mantel` (their permutation test), :mod:`~helpers.align.cka`,
:mod:`~helpers.align.evaluation` (the cross-validated retrieval protocol),
:mod:`~helpers.align.statistics` (means, intervals, best layers), and
:mod:`~helpers.align.measures`: each way of scoring brain against model as
one registered measure.
"""
