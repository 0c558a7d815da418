# SPDX-License-Identifier: GPL-3.0-or-later
"""Business rules. Every function takes the database session and the acting user explicitly."""
