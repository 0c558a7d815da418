# SPDX-License-Identifier: GPL-3.0-or-later
"""Storage of Hearth's own data: models, engine and sessions, migrations."""
