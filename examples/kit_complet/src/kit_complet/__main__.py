"""``python -m kit_complet``: the same as the ``kit-complet`` command."""

from kit_complet.cli import main

main()
