"""Support package of the book "Brains and language models".

Five stages, each a subpackage; a stage imports only from the stages above
it in this list:

``helpers.data``
    recordings and the words shown: the simulated experiment, downloads,
    and the loaders of the real datasets behind one interface;
``helpers.brain``
    from TRs to one brain vector per word (smoothing), and PCA;
``helpers.lm``
    language models: registry and loading, the texts they read, extraction
    of every hidden state, storage, type vectors;
``helpers.align``
    folds, retrieval, Procrustes, ridge (the estimator in ``ridge``, its
    cross-validation algebra in ``ridge_cv``, its NumPy and PyTorch backends
    in ``ridge_backends``), RSA, CKA, the cross-validated protocol, the
    statistics of scores, and ``measures``: the registry of measures, one
    module each;
``helpers.run``
    scenarios, the cache, cells (the one unit of result) and the tables,
    grid and controls that read them, the book builder.

:mod:`helpers.plots`, a package beside the stages and after all of them,
draws (``recordings``, ``vectors``, ``scores``, ``controls``, ``style``;
every figure re-exported as ``plots.<name>``); it reads tables and arrays and
computes nothing the book reports: the numbers it draws come from
:mod:`helpers.align.statistics`. :mod:`helpers.exercises`, also after all
the stages, checks the answers to the chapters' exercises. See ``ARCHITECTURE.md`` at the repository's
root.
"""
