# SPDX-License-Identifier: GPL-3.0-or-later
"""The JSON-RPC API: the envelope, the declarations, and thin method adapters over services."""
