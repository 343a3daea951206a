"""augment-review's library: datasets, splits, augmenters, provenance and quality signals.

Nothing here imports Streamlit, and nothing heavy (torch, transformers, inflect, pandas)
is imported until a function that needs it runs, so the CLI's alias swap starts fast.
"""

__version__ = "0.1.0"
