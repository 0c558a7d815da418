# SPDX-License-Identifier: GPL-3.0-or-later
"""Method adapters, one module per group of ``methods.md``.

Importing this package imports every module in it, which registers their methods with
``hearth.api.declare``; adding a module is all it takes to add methods.
"""

import importlib
import pkgutil

for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")
