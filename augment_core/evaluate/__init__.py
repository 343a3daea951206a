"""Does the curated augmentation help? A quick, seeded baseline experiment.

Train the Made With ML baseline family (TF-IDF character n-grams + logistic regression,
one-vs-rest for multi-label) on (a) the train originals and (b) the originals plus the
curated variants, over several seeds, and compare them on **val only**: on clean val, on
val with its aliases swapped (the invariance the augmentation is meant to buy), and by how
often predictions flip when a val row's alias is swapped. Paired bootstrap intervals and a
plain-language verdict say whether a difference is there at all.

It is a quick baseline, not the user's model: a gain here is evidence, not a promise.
Test rows are read only when asked (``use_test``).

Modules: :mod:`.data` (what the arms train and are scored on), :mod:`.baseline` (features
and models), :mod:`.metrics` (F1, flips, bootstrap, verdict), :mod:`.experiment` (the run),
:mod:`.manifest` (what an export's manifest says of the latest result, which the review
store keeps), :mod:`.report` (text and chart rows).
"""

from typing import Any

from augment_core.evaluate.config import EvalConfig
from augment_core.evaluate.data import EvalData, Example, from_augmented_file, from_dataset


def __getattr__(name: str) -> Any:
    # the experiment pulls in numpy and scikit-learn: only when it is used, so that
    # ``python -m augment_core augment`` (whose parser shows evaluate's defaults) stays light
    if name == "run_evaluation":
        from augment_core.evaluate.experiment import run_evaluation

        return run_evaluation
    raise AttributeError(name)


__all__ = ["EvalConfig", "EvalData", "Example", "from_augmented_file", "from_dataset", "run_evaluation"]
