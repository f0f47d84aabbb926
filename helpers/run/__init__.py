"""Stage 5: running the analyses of a scenario.

:mod:`~helpers.run.scenario` (every parameter, from one YAML file),
:mod:`~helpers.run.cache` (keyed, atomic results on disk and one copy in
memory), :mod:`~helpers.run.steps` (what each cached step depends on),
:mod:`~helpers.run.pipeline` (the cached inputs: stimulus, recordings,
features, brain vectors), :mod:`~helpers.run.tables` (the cached score
tables), :mod:`~helpers.run.book` (papermill and Jupyter Book).
"""
