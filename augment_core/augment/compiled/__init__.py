"""Compiled twins of pure-Python modules, built in place by ``pip install -e .`` (setup.py).

Each is its Python original, step for step, where a hot path needed C speed; the original
stays the reference and the fallback where no C compiler was found. ``diff``: the word-level
diff of :mod:`augment_core.augment.diff`. Nothing here imports its original's package, so the
original can import its twin without a cycle.
"""
