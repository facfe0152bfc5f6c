"""Causal FFT convolution ops. ``reference.py`` is the specification."""

from __future__ import annotations

from longseq.kernels.fftconv.reference import fftconv_h3_ref, fftconv_ref, fft_size

__all__ = ["fft_size", "fftconv_h3_ref", "fftconv_ref"]
