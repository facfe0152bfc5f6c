"""``python -m longseq.cli``: the ``longseq`` command."""

from longseq.cli import main

main()
