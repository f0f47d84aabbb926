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
    folds, retrieval, Procrustes, ridge, RSA, the cross-validated protocol
    and the statistics of scores;
``helpers.run``
    scenarios, the cache, the cached steps and score tables, the book builder.

:mod:`helpers.plots` draws; it reads tables and arrays and computes nothing
the book reports. See ``ARCHITECTURE.md`` at the repository's root.
"""
