# SPDX-License-Identifier: GPL-3.0-or-later
"""``python -m hearth`` = the ``hearth`` command."""

from hearth.cli.entry import main

main()
