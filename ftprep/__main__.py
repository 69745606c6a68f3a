"""``python -m ftprep``: the command line."""

from ftprep.cli import run

run()
