"""An evaluation result as text (the CLI) and as table and chart rows (the page)."""

from __future__ import annotations

from typing import Any, Mapping

_CONDITIONS = {"clean": "clean val", "swapped": "alias-swapped val"}


def summary_rows(result: Mapping[str, Any], split: str = "val") -> list[dict[str, Any]]:
    """One row per figure: both arms and the difference (b - a) with its 95% interval."""
    rep = result["splits"][split]
    arms, diffs = rep["arms"], rep["differences"]
    rows = []
    for cond in ("clean", "swapped"):
        for metric in ("micro_f1", "macro_f1"):
            d = diffs[f"{cond}_{metric}"]
            rows.append({
                "figure": f"{metric.replace('_f1', '-F1')}, {_CONDITIONS[cond]}",
                "originals": arms["originals"][cond][metric], "augmented": arms["augmented"][cond][metric],
                "difference": d["mean"], "ci_low": d["ci_low"], "ci_high": d["ci_high"],
                "seeds better/worse": f"{d['seeds_better']}/{d['seeds_worse']}",
            })
    if "flip_rate" in diffs:
        d = diffs["flip_rate"]
        rows.append({
            "figure": "flip rate, alias-swapped rows (lower is better)",
            "originals": arms["originals"]["flip_rate"], "augmented": arms["augmented"]["flip_rate"],
            "difference": d["mean"], "ci_low": d["ci_low"], "ci_high": d["ci_high"],
            "seeds better/worse": f"{d['seeds_better']}/{d['seeds_worse']}",
        })
    return rows


def tag_delta_rows(result: Mapping[str, Any], split: str = "val") -> list[dict[str, Any]]:
    """Per tag and condition: F1 of each arm and the difference, for the per-tag chart."""
    return [dict(r, condition=_CONDITIONS[r["condition"]]) for r in result["splits"][split]["per_tag"]]


def as_text(result: Mapping[str, Any]) -> str:
    """The CLI's report: what was compared, the figures, the verdict."""
    data = result["data"]
    lines = [
        f"baseline: {result['baseline']}, {result['config']['seeds']} seeds, "
        f"{result['config']['train_fraction']:g} of the train originals per seed",
        f"arm a: {data['train_originals']} train originals; arm b: + {data['variants']} variants ({data['variants_source']})",
        f"task: {result['task']}, {len(data['tags'])} tags scored"
        + (f" ({data['tags_not_scored']} rarer tags not scored)" if data.get("tags_not_scored") else ""),
    ]
    for split, rep in result["splits"].items():
        lines.append("")
        lines.append(f"{split}: {rep['rows']} rows, {rep['swapped_rows']} with an alias swapped")
        lines.append(f"  {'figure':<48} {'originals':>9} {'augmented':>9} {'b - a':>8}  95% interval")
        for row in summary_rows(result, split):
            lines.append(
                f"  {row['figure']:<48} {row['originals']:>9.3f} {row['augmented']:>9.3f} {row['difference']:>+8.3f}"
                f"  [{row['ci_low']:+.3f}, {row['ci_high']:+.3f}]  seeds {row['seeds better/worse']}"
            )
        lines.append(f"  verdict: {rep['verdict']['summary']}")
    lines.append("")
    lines.append("A quick baseline, not your model: evidence about the variants, not a promise about your model.")
    return "\n".join(lines)
