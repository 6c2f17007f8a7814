"""`python -m simsupport.cli`: the same as the `simsupport` script."""

from . import main

main()
