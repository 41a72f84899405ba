"""`python -m parkgate.cli`."""

from . import main

main()
