"""Run the command line: python -m fluxopt."""

from fluxopt.cli import main

main(prog_name="fluxopt")
