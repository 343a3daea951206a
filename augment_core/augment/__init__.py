"""Open augmentation: anything that turns a text into a variant can be reviewed.

The word-level diff gives any variant the change spans the review page highlights; typed
parameter declarations let each augmenter describe its settings once; plug-in functions,
entry-point discovery and the Snorkel / nlpaug adapters bring outside augmenters in.
"""

from augment_core.augment.adapters import adapter, nlpaug_adapter, snorkel_adapter
from augment_core.augment.diff import diff_changes, rebuild
from augment_core.augment.function import FunctionAugmenter
from augment_core.augment.keywords import keyword_changed
from augment_core.augment.params import Param, apply_sets, params_of, setting, settings_dict, settings_from
from augment_core.augment.plugins import GROUP, discover
from augment_core.augment.spec import AugmenterSpec, BuildContext

__all__ = [
    "GROUP", "AugmenterSpec", "BuildContext", "FunctionAugmenter", "Param", "adapter", "apply_sets", "diff_changes",
    "discover", "keyword_changed", "nlpaug_adapter", "params_of", "rebuild", "setting", "settings_dict",
    "settings_from", "snorkel_adapter",
]
