"""The compiled word-level diff (augment_core/augment/compiled/diff.pyx): ``pip install -e .``
builds it beside its source. ``optional``: where no C compiler is found the install still
succeeds and augment_core.augment.diff runs its Python reference instead (same changes,
slower). Everything else about the package is in pyproject.toml."""

from setuptools import Extension, setup

setup(ext_modules=[Extension("augment_core.augment.compiled.diff", ["augment_core/augment/compiled/diff.pyx"],
                             optional=True)])
