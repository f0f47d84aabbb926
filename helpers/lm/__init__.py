"""Stage 3: language-model features for every word occurrence and every layer.

:mod:`~helpers.lm.models` (registry, where weights are found, loading,
device and dtype), :mod:`~helpers.lm.passages` (the texts a model reads and
which tokens belong to which word), :mod:`~helpers.lm.extraction` (batches
and the forward pass, pooled to words), :mod:`~helpers.lm.storage`
(resumable streaming to disk), :mod:`~helpers.lm.memory` (peak memory),
:mod:`~helpers.lm.vectors` (type vectors, one word across layers).

Importing this package does not import torch; the modules that need it do.
"""
