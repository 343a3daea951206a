"""F1, flips, paired bootstrap intervals and the verdict.

Every figure is computed from per-row true/false positive and false negative counts, so a
bootstrap replicate is one matrix product (a weight per val row, drawn once and shared by
both arms and every seed: the comparison is paired) instead of a thousand calls to
``f1_score``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

CI_LEVEL = 0.95


@dataclass(frozen=True)
class Scores:
    """F1 under each weighting of the rows (one row of ``weights`` per replicate)."""

    micro: np.ndarray  # (B,)
    macro: np.ndarray  # (B,)
    per_tag: np.ndarray  # (B, T)


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    return np.divide(num, den, out=np.zeros_like(num, dtype=float), where=den > 0)


def scores(weights: np.ndarray, y: np.ndarray, p: np.ndarray, tag_mask: np.ndarray) -> Scores:
    """Micro-F1, macro-F1 (over the tags in ``tag_mask``: those val carries) and per-tag F1;
    a tag with neither support nor predictions scores 0, as ``f1_score`` does."""
    tp = weights @ (y & p).astype(np.float64)
    fp = weights @ (~y & p).astype(np.float64)
    fn = weights @ (y & ~p).astype(np.float64)
    per_tag = _ratio(2 * tp, 2 * tp + fp + fn)
    micro = _ratio(2 * tp.sum(1), (2 * tp + fp + fn).sum(1))
    macro = per_tag[:, tag_mask].mean(1) if tag_mask.any() else np.zeros(len(weights))
    return Scores(micro, macro, per_tag)


def flip_rate(weights: np.ndarray, p_clean: np.ndarray, p_swapped: np.ndarray, changed: np.ndarray) -> np.ndarray:
    """Share of the changed (alias-swapped) rows whose predicted labels differ."""
    flipped = (p_clean != p_swapped).any(1) & changed
    return _ratio(weights @ flipped.astype(np.float64), weights @ changed.astype(np.float64))


def bootstrap_weights(n: int, replicates: int, seed: int) -> np.ndarray:
    """How often each of ``n`` rows is drawn in each replicate (resampling with replacement)."""
    rng = np.random.default_rng([seed, 7919])
    return rng.multinomial(n, np.full(n, 1.0 / n), size=replicates).astype(np.float64) if n else np.zeros((replicates, 0))


def interval(samples: np.ndarray) -> tuple[float, float]:
    lo, hi = np.quantile(samples, [(1 - CI_LEVEL) / 2, 1 - (1 - CI_LEVEL) / 2], axis=0)
    return float(lo), float(hi)


def difference(point_a: Sequence[float], point_b: Sequence[float], boot_a: Sequence[np.ndarray],
               boot_b: Sequence[np.ndarray], lower_is_better: bool = False) -> dict[str, Any]:
    """Arm b minus arm a: the mean over seeds, its bootstrap interval (val rows resampled,
    the same draw for both arms), and how many seeds went each way."""
    per_seed = [b - a for a, b in zip(point_a, point_b)]
    boot = np.mean([b - a for a, b in zip(boot_a, boot_b)], axis=0)
    lo, hi = interval(boot)
    better = sum(1 for d in per_seed if (d < 0 if lower_is_better else d > 0))
    worse = sum(1 for d in per_seed if (d > 0 if lower_is_better else d < 0))
    return {
        "mean": float(np.mean(per_seed)), "ci_low": lo, "ci_high": hi, "per_seed": [float(d) for d in per_seed],
        "seeds_better": better, "seeds_worse": worse, "effect": effect(lo, hi, lower_is_better),
    }


def effect(lo: float, hi: float, lower_is_better: bool = False) -> str:
    """``gain``/``loss`` when the interval excludes 0 (in the better/worse direction), else ``none``."""
    if lo > 0:
        return "loss" if lower_is_better else "gain"
    if hi < 0:
        return "gain" if lower_is_better else "loss"
    return "none"


def verdict(clean: dict[str, Any], swapped: dict[str, Any] | None, flips: dict[str, Any] | None,
            metric: str, flip_rates: tuple[float, float] | None) -> dict[str, str]:
    """A sentence a person deciding whether to ship the curated split can act on.

    Robustness is what the variants buy beyond clean text: fewer flips, or a gain on
    alias-swapped val that clean val does not show (a gain on both is a plain gain)."""
    name = metric.replace("_", "-").replace("f1", "F1")
    c = clean["effect"]
    s = swapped["effect"] if swapped is not None else "none"
    f = flips["effect"] if flips is not None else "none"
    gain = f == "gain" or (s == "gain" and c != "gain")
    loss = f == "loss" or (s == "loss" and c != "loss")
    robustness = "mixed" if gain and loss else "gain" if gain else "loss" if loss else "none"
    swap_text = f"{swapped['mean']:+.3f} {name} on alias-swapped val" if swapped is not None else ""
    flip_text = ""
    if flip_rates is not None:
        flip_text = f"; predictions flip on {flip_rates[1]:.0%} instead of {flip_rates[0]:.0%} of alias-swapped rows"
    parts: list[str] = []
    words = {"gain": "helps robustness", "loss": "hurts robustness", "mixed": "mixed robustness signals"}
    if robustness != "none":
        parts.append(f"{words[robustness]} ({swap_text}{flip_text})")
    if c == "gain":
        both = s == "gain" and robustness == "none"
        parts.append(f"helps on clean text ({clean['mean']:+.3f} {name})"
                     + (f" and on alias-swapped text ({swapped['mean']:+.3f})" if both and swapped is not None else ""))
    elif c == "loss":
        both = s == "loss" and robustness == "none"
        parts.append(f"costs {-clean['mean']:.3f} {name} on clean text"
                     + (f" and {-swapped['mean']:.3f} on alias-swapped text" if both and swapped is not None else ""))
    elif parts:
        parts.append("no measurable effect on clean text")
    if not parts:
        summary = (f"No measurable effect: {clean['mean']:+.3f} {name} on clean val "
                   f"[{clean['ci_low']:+.3f}, {clean['ci_high']:+.3f}]"
                   + (f", {swap_text} [{swapped['ci_low']:+.3f}, {swapped['ci_high']:+.3f}]" if swapped else "")
                   + "; every 95% interval includes 0.")
    else:
        summary = "; ".join(parts)
        summary = summary[0].upper() + summary[1:] + "."
    return {"clean": c, "robustness": robustness, "summary": summary}
