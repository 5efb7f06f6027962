"""`python -m rnnapps`: the `rnnapps` command (also how `train --backend` starts its training process)."""

from rnnapps.cli import main

main()
