"""`python -m open311.cli`: the `open311` command."""

from open311.cli import main

main()
