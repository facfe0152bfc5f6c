"""Benchmarks (``longseq bench``): timings live here, never in tests. ``conv``: causal sequence
mixing (FFT conv, direct conv, attention, state passing, fused Triton kernel). ``data``: a large
random BGZF genome and the code modality's phases, for ``scripts/bench_data.py``."""
