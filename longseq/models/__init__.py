"""nn.Modules: H3, S4D, Hyena, attention, blocks, the language model, the inference cache and
generation. No lightning, hydra or click imports here."""

from __future__ import annotations

from longseq.models.attention import CausalSelfAttention
from longseq.models.block import Block, build_mixer
from longseq.models.cache import InferenceCache
from longseq.models.config import AttentionConfig, HyenaConfig, ModelConfig, SSMConfig
from longseq.models.generation import SamplingConfig, generate
from longseq.models.h3 import H3
from longseq.models.hyena import Hyena
from longseq.models.lm import LanguageModel
from longseq.models.s4d import S4D

__all__ = [
    "H3",
    "S4D",
    "AttentionConfig",
    "Block",
    "CausalSelfAttention",
    "Hyena",
    "HyenaConfig",
    "InferenceCache",
    "LanguageModel",
    "ModelConfig",
    "SSMConfig",
    "SamplingConfig",
    "build_mixer",
    "generate",
]
