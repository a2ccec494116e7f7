"""``python -m quarterhour.cli``: the same as the ``quarterhour`` command."""

from quarterhour.cli.main import console

console()
