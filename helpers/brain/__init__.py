"""Stage 2: from TR-level recordings to one brain vector per word occurrence.

:mod:`~helpers.brain.smoothing` (TRs to words), :mod:`~helpers.brain.reduction`
(PCA), :mod:`~helpers.brain.vectors` (the word vectors of any recording),
:mod:`~helpers.brain.consistency` (inter-subject correlation).
"""
