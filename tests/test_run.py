"""One run function for the CLI and the page: phases reported as they go, the same
augmenters built from one registry."""

from __future__ import annotations

import pytest

from augment_core.augment.registry import AUGMENTERS, AugmenterSettings, build_augmenters
from augment_core.data.dataset import ColumnMapping, build_dataset, read_table
from augment_core.data.splitting import assign_splits
from augment_core.errors import InputError
from augment_core.runners.run import PhaseClock, QualitySettings, augment


@pytest.fixture(scope="module")
def dataset(sample_csv, tmp_path_factory):
    lines = sample_csv.read_text(encoding="utf-8").splitlines(keepends=True)[:81]
    path = tmp_path_factory.mktemp("run") / "few.csv"
    path.write_text("".join(lines), encoding="utf-8")
    mapping = ColumnMapping(text_columns=("title", "description"), label_column="tags", id_column="id")
    return assign_splits(build_dataset(read_table(path), mapping), (0.7, 0.15, 0.15), 0)


def test_every_phase_is_reported_in_order_with_counts(dataset, alias_table, tiny_mlm):
    seen: list[tuple[str, int, int]] = []
    out = augment(
        dataset, alias_table, ["alias_swap", "contextual_substitute"], AugmenterSettings(model=tiny_mlm, device="cpu"),
        n_per_original=2, keep_original=False, seed=0, quality=QualitySettings(), progress=lambda *a: seen.append(a),
    )
    phases = [p for p, _, _ in seen]
    assert phases.index("model") < phases.index("generate") < phases.index("quality")
    assert phases == sorted(phases, key=["model", "generate", "quality"].index)  # one after the other
    for phase in ("model", "generate", "quality"):
        counts = [(d, t) for p, d, t in seen if p == phase]
        assert counts[-1][0] == counts[-1][1] > 0, phase  # each phase ends complete
        assert [d for d, _ in counts] == sorted(d for d, _ in counts)  # and only moves forward
    assert [a["name"] for a in out.params["augmenters"]] == ["alias_swap", "contextual_substitute"]
    assert out.params["variants"] == sum(1 for r in out.rows if r["augmenter"] != "original") > 0
    assert "similarity" in out.columns


def test_the_registry_lists_and_checks_every_augmenter(alias_table, dataset):
    from augment_core.augment.agreement import fit_to_train

    keywords = fit_to_train(alias_table, dataset)
    assert list(AUGMENTERS) == ["alias_swap", "contextual_substitute", "contextual_insert"]
    built = build_augmenters(list(AUGMENTERS), AugmenterSettings(), keywords)
    assert [a.name for a in built] == list(AUGMENTERS)
    with pytest.raises(InputError, match="--aug-p"):
        build_augmenters(["contextual_insert"], AugmenterSettings(aug_p=0.0), keywords)
    with pytest.raises(InputError, match="unknown augmenter"):
        build_augmenters(["nope"], AugmenterSettings(), keywords)


def test_phase_clock_says_counts_rate_and_time_left():
    now = [100.0]
    clock = PhaseClock(lambda: now[0])
    assert clock.line("generate", 0, 500) == (0.0, "Generating: 0 / 500 originals · starting")
    now[0] = 110.0
    fraction, text = clock.line("generate", 100, 500)
    assert fraction == 0.2 and text == "Generating: 100 / 500 originals · 10/s · about 40 s left"


def test_phase_clock_shows_time_passing_while_a_model_loads():
    now = [0.0]
    clock = PhaseClock(lambda: now[0])
    assert clock.line("model", 0, 1) == (0.0, "Loading models: 0 / 1 models loaded · starting")
    now[0] = 12.4
    assert clock.line("model", 0, 1) == (0.0, "Loading models: 0 / 1 models loaded · 12 s so far")
    now[0] = 30.0
    assert clock.line("model", 1, 1) == (1.0, "Loading models: 1 / 1 models loaded")


def test_the_run_says_which_train_originals_have_no_swappable_keyword(dataset, alias_table):
    from augment_core.augment.agreement import fit_to_train
    from augment_core.runners.run import without_swappable_keyword

    keywords = fit_to_train(alias_table, dataset)
    missing, n_train = without_swappable_keyword(dataset, keywords)
    train = [r for r in dataset.records if r.split == "train"]
    assert n_train == len(train) and 0 < missing < n_train
    out = augment(dataset, alias_table, ["alias_swap"], AugmenterSettings(), n_per_original=2, keep_original=True,
                  seed=0, quality=None)
    parents = {r["parent_id"] for r in out.rows if r["augmenter"] != "original"}
    assert out.without_variant == n_train - len(parents) >= missing  # no keyword, no variant


def test_a_runs_params_give_back_its_settings(dataset, alias_table):
    from augment_core.augment.agreement import fit_to_train
    from augment_core.augment.registry import settings_from_params

    built = build_augmenters(["alias_swap", "contextual_insert"],
                             AugmenterSettings(max_swaps=2, min_agreement=0.4, aug_p=0.2, top_k=7, protect=("gpu",),
                                               model="some/model"),
                             fit_to_train(alias_table, dataset))
    names, settings = settings_from_params([{"name": a.name, **a.params()} for a in built])  # as a run stores them
    assert names == ["alias_swap", "contextual_insert"]
    assert (settings.max_swaps, settings.min_agreement, settings.aug_p, settings.top_k, settings.protect) == (
        2, 0.4, 0.2, 7, ("gpu",))
    assert (settings.engine, settings.model) == ("native", "some/model")
    assert settings_from_params([]) == ([], AugmenterSettings())


def test_a_fitted_table_given_is_used_as_it_is(dataset, alias_table):
    """The app passes its cached fit: the run must use it, not fit the tags again."""
    from augment_core.augment.agreement import fit_to_train
    from augment_core.augment.aliases import build_alias_table

    nothing = fit_to_train(build_alias_table([("nothing-here", [])]), dataset)  # no alias to swap
    out = augment(dataset, alias_table, ["alias_swap"], AugmenterSettings(), n_per_original=2, keep_original=False,
                  seed=0, quality=None, keywords=nothing)
    assert out.keywords is nothing and out.params["variants"] == 0
    assert augment(dataset, alias_table, ["alias_swap"], AugmenterSettings(), n_per_original=2, keep_original=False,
                   seed=0, quality=None).params["variants"] > 0
