"""Stage 1: what was shown and what was recorded.

:mod:`~helpers.data.recording` (the two recording structures, validated
once), :mod:`~helpers.data.words` (what counts as a word), :mod:`~helpers.data.simulate`
(the simulated experiment and its story), :mod:`~helpers.data.files` (atomic
writes, checksums), :mod:`~helpers.data.fetch` (downloads),
:mod:`~helpers.data.matlab` (reading MATLAB structs), the loaders
:mod:`~helpers.data.harry_potter`, :mod:`~helpers.data.pereira`,
:mod:`~helpers.data.natural_stories`, and :mod:`~helpers.data.datasets`,
which puts every dataset behind one interface.
"""
