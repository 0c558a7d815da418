# SPDX-License-Identifier: GPL-3.0-or-later
"""Hearth: self-hosted Git and Mercurial hosting speaking Kallithea's JSON-RPC API."""

__version__ = "0.1.0"
