"""Support package of the book "Brains and language models".

The notebooks call :mod:`helpers.pipeline` (the cached analysis steps) and
:mod:`helpers.plots`; every other module holds one concept of the method.
"""
