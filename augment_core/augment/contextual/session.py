"""The loaded masked LM as the native engine uses it: its window, where a single mask sits
in a sequence, the tokens it may never draw, and each token's text (cached: a decode per
drawn token would dominate a run on short texts)."""

from __future__ import annotations

import re
from typing import Any

from augment_core.augment.protection import Protector

_BRACKETED = re.compile(r"^(\[.*\]|<.*>)$")


class ModelSession:
    def __init__(self, model_name: str, device: str, precision: str, protector: Protector) -> None:
        from augment_core.augment.models import load_masked_lm

        self.lm = load_masked_lm(model_name, device)
        self.tokenizer = self.lm.tokenizer
        self.device = self.lm.device
        self.precision = precision
        self._strings: dict[int, str] = {}
        tok = self.tokenizer
        config = self.lm.model.config
        limits = [x for x in (getattr(config, "max_position_embeddings", None), getattr(tok, "model_max_length", None))
                  if isinstance(x, int) and 0 < x < 1_000_000]
        max_len = min(limits) if limits else 512
        if getattr(config, "model_type", "") in ("roberta", "xlm-roberta", "camembert"):
            max_len = min(max_len, 512)  # position ids start at pad_id + 1
        special = len(tok.build_inputs_with_special_tokens([])) if hasattr(tok, "build_inputs_with_special_tokens") else 2
        probe = tok.build_inputs_with_special_tokens([tok.mask_token_id])
        self.prefix = probe.index(tok.mask_token_id)
        """Tokens before the text in a model input (``[CLS]``)."""
        self.window = max_len - special
        """Text tokens that fit in one input."""
        self.mask_id = tok.mask_token_id
        self.banned = self._banned_vocab(protector)

    @property
    def bf16(self) -> bool:
        from augment_core.augment.models import resolve_precision

        return resolve_precision(self.precision, str(self.device)) == "bf16"

    def token_string(self, token_id: int) -> str:
        s = self._strings.get(token_id)
        if s is None:
            tok = self.tokenizer
            s = tok.convert_tokens_to_string([tok.convert_ids_to_tokens(token_id)]).strip()
            self._strings[token_id] = s
        return s

    def _banned_vocab(self, protector: Protector) -> Any:
        """Tokens never drawn: special and bracketed tokens, subword continuations, tokens
        without a letter or digit (lone punctuation), and keywords."""
        import torch

        tok = self.tokenizer
        vocab_size = int(self.lm.model.get_output_embeddings().weight.shape[0])
        pieces = tok.convert_ids_to_tokens(list(range(min(vocab_size, len(tok)))))
        wordpiece = any(p.startswith("##") for p in pieces[:50000] if p)
        bpe_space = "\u0120" if any(p.startswith("\u0120") for p in pieces if p) else (
            "\u2581" if any(p.startswith("\u2581") for p in pieces if p) else None
        )
        special = set(tok.all_special_ids)
        banned = torch.ones(vocab_size, dtype=torch.bool)
        for i, piece in enumerate(pieces):
            if i in special or piece is None:
                continue
            if wordpiece and piece.startswith("##"):
                continue
            if bpe_space and not piece.startswith(bpe_space):
                continue
            s = self.token_string(i)
            if not s or _BRACKETED.match(s) or not any(c.isalnum() for c in s) or "##" in s or " " in s:
                continue
            if len(s) == 1 and not s.isascii():  # lone CJK/other-script characters of the vocab
                continue
            if protector.is_keyword(s):
                continue
            banned[i] = False
        return banned.to(self.device)
