"""The language model: embedding, blocks (any mixer per layer), final norm, tied LM head.

Saved as ``model.safetensors`` + ``config.json`` (no pickle): :meth:`LanguageModel.save_pretrained`
and :meth:`LanguageModel.from_pretrained`.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, cast

import torch
from torch import nn

from longseq.models.block import Block
from longseq.models.cache import InferenceCache
from longseq.models.config import ModelConfig
from longseq.models.host_memory import bound_host_memory

WEIGHTS_NAME = "model.safetensors"
CONFIG_NAME = "config.json"


class LanguageModel(nn.Module):
    """``forward(input_ids: [B, L] int64) -> logits [B, L, vocab_size]`` (fp32 logits).

    Pure H3, hybrids and Transformers all come from :class:`ModelConfig`: ``mixer`` is the default
    layer kind and ``attn_layer_idx`` lists the attention layers.
    """

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        cfg.validate()
        self.config = cfg
        m = cfg.pad_vocab_to_multiple
        self.padded_vocab = -(-cfg.vocab_size // m) * m
        self.embedding = nn.Embedding(self.padded_vocab, cfg.d_model)
        self.pos_embedding = (
            nn.Embedding(cfg.max_position_embeddings, cfg.d_model)
            if cfg.max_position_embeddings > 0
            else None
        )
        self.drop = nn.Dropout(cfg.embed_dropout)
        self.layers = nn.ModuleList(Block(kind, cfg) for kind in cfg.layer_mixers())
        self.blocks = cast(list[Block], list(self.layers))  # typed view of the same modules
        self.norm_f = nn.LayerNorm(cfg.d_model, eps=cfg.layer_norm_eps)
        self._init_weights()

    def _init_weights(self) -> None:
        std = self.config.initializer_range
        for name, module in self.named_modules():
            # the Hyena filter MLP keeps PyTorch's default init so the implicit filter starts
            # non-trivial
            if ".filter." in f".{name}.":
                continue
            if isinstance(module, (nn.Linear, nn.Embedding)):
                nn.init.normal_(module.weight, std=std)
                bias = getattr(module, "bias", None)
                if isinstance(bias, torch.Tensor):
                    nn.init.zeros_(bias)
        # GPT-2 style: residual output projections of attention and the MLP scaled by depth
        scaled = std / math.sqrt(2 * self.config.n_layer)
        for name, p in self.named_parameters():
            if name.endswith(("out_proj.weight", "fc2.weight")):
                nn.init.normal_(p, std=scaled)

    def _embed(self, input_ids: torch.Tensor, offset: int) -> torch.Tensor:
        self._check_ids(input_ids)
        h = self.embedding(input_ids)
        if self.pos_embedding is not None:
            L = input_ids.shape[-1]
            if offset + L > self.pos_embedding.num_embeddings:
                raise ValueError(
                    f"sequence of {offset + L} tokens exceeds model.max_position_embeddings="
                    f"{self.pos_embedding.num_embeddings}"
                )
            h = h + self.pos_embedding(torch.arange(offset, offset + L, device=input_ids.device))
        return self.drop(h)

    def _check_ids(self, ids: torch.Tensor) -> None:
        if ids.numel() and (int(ids.min()) < 0 or int(ids.max()) >= self.config.vocab_size):
            raise ValueError(
                f"token ids must lie in [0, {self.config.vocab_size}); got [{int(ids.min())}, "
                f"{int(ids.max())}]"
            )

    def _logits(self, h: torch.Tensor) -> torch.Tensor:
        logits = nn.functional.linear(self.norm_f(h), self.embedding.weight)
        return logits[..., : self.config.vocab_size].float()

    def forward(self, input_ids: torch.Tensor, cache: InferenceCache | None = None) -> torch.Tensor:
        """Logits [B, L, V]. With a fresh ``cache``, also fill it from this prompt (prefill).

        From ``config.long_context.checkpoint_from`` tokens on, a forward with gradients enabled
        checkpoints every block (:meth:`Block.forward_checkpointed`): the same values and
        gradients, a fraction of the activation memory, about one more forward of compute."""
        if cache is not None:
            if cache.seqlen_offset != 0:
                raise ValueError("prefill needs a fresh inference cache; use step() to continue")
            cache.check_room(input_ids.shape[1])
        h = self._embed(input_ids, 0)
        lc = self.config.long_context
        L = input_ids.shape[1]
        if h.device.type == "cpu" and (lc.uses_state_passing(L) or lc.uses_checkpointing(L)):
            activation_mib = h.numel() * h.element_size() / 2**20
            bound_host_memory(lc.host_mmap_mib, heap_only=activation_mib <= lc.host_heap_mib)
        if cache is None and torch.is_grad_enabled() and lc.uses_checkpointing(L):
            for block in self.blocks:
                h = block.forward_checkpointed(h, lc.mlp_chunk)
            return self._logits(h)
        for i, layer in enumerate(self.layers):
            h = layer(h, None if cache is None else cache.states[i])
        if cache is not None:
            cache.seqlen_offset = input_ids.shape[1]
        return self._logits(h)

    def allocate_cache(
        self, batch_size: int, max_len: int, dtype: torch.dtype | None = None
    ) -> InferenceCache:
        """A fresh inference cache for ``batch_size`` sequences of up to ``max_len`` tokens."""
        device = self.embedding.weight.device
        dtype = dtype or self.embedding.weight.dtype
        states = [block.init_state(batch_size, max_len, device, dtype) for block in self.blocks]
        return InferenceCache(states=states, batch_size=batch_size, max_len=max_len)

    def step(self, input_ids: torch.Tensor, cache: InferenceCache) -> torch.Tensor:
        """One token per sequence: input_ids [B] -> logits [B, V]; advances ``cache``."""
        cache.check_room(1)
        offset = cache.seqlen_offset
        h = self._embed(input_ids.unsqueeze(1), offset).squeeze(1)
        for block, state in zip(self.blocks, cache.states, strict=False):
            h = block.step(h, state, offset)
        cache.seqlen_offset = offset + 1
        return self._logits(h)

    def step_at(
        self, input_ids: torch.Tensor, cache: InferenceCache, position: torch.Tensor
    ) -> torch.Tensor:
        """:meth:`step` in static-shape form, for capture in a CUDA graph: the position is a 0-d
        int64 tensor on the model's device, nothing is read back to the host, the ids are not
        range-checked and ``cache.seqlen_offset`` is left to the caller.

        input_ids [B] -> logits [B, V]; advances every layer state in ``cache`` in place.
        """
        h = self.embedding(input_ids)
        if self.pos_embedding is not None:
            h = h + self.pos_embedding(position.reshape(1))
        h = self.drop(h)
        for block, state in zip(self.blocks, cache.states, strict=False):
            h = block.step(h, state, position)
        return self._logits(h)

    def ssm_parameters(self) -> list[nn.Parameter]:
        """Parameters that get the SSM learning rate and no weight decay (dt, A, B of every SSM)."""
        params: list[nn.Parameter] = []
        for block in self.blocks:
            fn = getattr(block.mixer, "ssm_parameters", None)
            if fn is not None:
                params.extend(fn())
        return params

    def param_groups(self, lr: float, weight_decay: float) -> list[dict[str, Any]]:
        """AdamW groups, named ``decay`` (matrices, with weight decay), ``no_decay`` (biases, norms,
        the embedding and other 1-D params) and ``ssm`` (lr = min(model.ssm.lr, lr), no weight
        decay whatever ``optim.decay_scope`` says)."""
        ssm_ids = {id(p) for p in self.ssm_parameters()}
        decay, no_decay, ssm = [], [], []
        for p in self.parameters():
            if not p.requires_grad:
                continue
            if id(p) in ssm_ids:
                ssm.append(p)
            elif p.dim() >= 2 and p is not self.embedding.weight:
                decay.append(p)
            else:
                no_decay.append(p)
        groups: list[dict[str, Any]] = [
            {"name": "decay", "params": decay, "weight_decay": weight_decay},
            {"name": "no_decay", "params": no_decay, "weight_decay": 0.0},
        ]
        if ssm:
            groups.append(
                {
                    "name": "ssm",
                    "params": ssm,
                    "weight_decay": 0.0,
                    "lr": min(self.config.ssm.lr, lr),
                }
            )
        return [g for g in groups if g["params"]]

    def save_pretrained(self, directory: str | Path) -> None:
        """Write ``model.safetensors`` and ``config.json`` into ``directory`` (atomically)."""
        from safetensors.torch import save_model

        d = Path(directory)
        d.mkdir(parents=True, exist_ok=True)
        tmp = d / (WEIGHTS_NAME + ".tmp")
        save_model(self, str(tmp))
        tmp.replace(d / WEIGHTS_NAME)
        tmp_cfg = d / (CONFIG_NAME + ".tmp")
        tmp_cfg.write_text(json.dumps({"model": self.config.to_dict()}, indent=2))
        tmp_cfg.replace(d / CONFIG_NAME)

    @classmethod
    def from_pretrained(
        cls, directory: str | Path, device: str | torch.device = "cpu"
    ) -> LanguageModel:
        """Load a model written by :meth:`save_pretrained` (no pickle)."""
        from safetensors.torch import load_model

        d = Path(directory)
        cfg_path, weights = d / CONFIG_NAME, d / WEIGHTS_NAME
        for p in (cfg_path, weights):
            if not p.is_file():
                raise FileNotFoundError(
                    f"{p}: not found (expected a directory written by save_pretrained)"
                )
        try:
            raw = json.loads(cfg_path.read_text())["model"]
        except (json.JSONDecodeError, KeyError, TypeError) as e:
            raise ValueError(f"{cfg_path}: not a longseq model config ({e})") from None
        model = cls(ModelConfig.from_dict(raw))
        try:
            load_model(model, str(weights), device=str(device))
        except RuntimeError as e:
            first = str(e).strip().splitlines()[0]
            raise ValueError(f"{weights}: weights do not match {cfg_path} ({first})") from None
        return model.to(device)
