"""SSM kernels, recurrent steps, prefill and state passing. ``reference.py`` is the
specification."""

from __future__ import annotations

from longseq.kernels.ssm.reference import (
    s4d_discretize_ref,
    s4d_kernel_ref,
    s4d_state_ref,
    s4d_step_ref,
    shift_kernel_ref,
    shift_state_ref,
    shift_step_ref,
)
from longseq.kernels.ssm.state_passing import state_passing_conv

__all__ = [
    "s4d_discretize_ref",
    "s4d_kernel_ref",
    "s4d_state_ref",
    "s4d_step_ref",
    "shift_kernel_ref",
    "shift_state_ref",
    "shift_step_ref",
    "state_passing_conv",
]
