# SPDX-License-Identifier: GPL-3.0-or-later
"""Command-line programs: ``hearth`` (administration) and ``hearth-api`` (JSON-RPC client)."""
