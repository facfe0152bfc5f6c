"""Objectives, metrics and Lightning glue: optimiser (``optim``), the sequence-LM module
(``lm_module``) and the synthetic languages (``synthetic``).

Import the submodules directly; this package imports nothing heavy, so the lightning-free parts
(``longseq.tasks.synthetic.languages``, ``...config``, ``longseq.tasks.optim``) load without
lightning.
"""

from __future__ import annotations

# Label value that takes no loss; torch's cross_entropy default, shared by every task.
IGNORE_INDEX = -100
