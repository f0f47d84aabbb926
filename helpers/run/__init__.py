"""Stage 5: running the analyses of a scenario.

:mod:`~helpers.run.scenario` (every parameter, from one YAML file),
:mod:`~helpers.run.cache` (keyed, atomic results on disk and one copy in
memory), :mod:`~helpers.run.steps` (what each cached step depends on),
:mod:`~helpers.run.pipeline` (the cached inputs: stimulus, recordings,
features, brain vectors), :mod:`~helpers.run.cells` (one subject x model
layer x measure x split, made once), :mod:`~helpers.run.tables` (the
chapters' score tables, views over cells), :mod:`~helpers.run.grid` (every
cell as a job), :mod:`~helpers.run.controls` and
:mod:`~helpers.run.control_report` (the controls' tables, then their
verdicts), :mod:`~helpers.run.book` (papermill and Jupyter Book).
"""
