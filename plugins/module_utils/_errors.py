# -*- coding: utf-8 -*-
# Copyright: underlay.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one error type the engine raises: a message a user can act on, naming the field."""

from __future__ import annotations


class UnderlayError(Exception):
    """A refusal or failure with the option (``field``) and ``value`` that caused it.

    ``str(err)`` is the complete user-facing message, e.g.
    ``vlan_id: 4095 is out of range (1-4094)``.
    """

    def __init__(self, message, field=None, value=None):
        self.field = field
        self.value = value
        self.detail = message
        if field is not None:
            message = f"{field}: {message}"
        super().__init__(message)


class MissingLibraryError(UnderlayError):
    """A Python library the managed host needs (pyroute2) is not importable."""

    def __init__(self, library, exception):
        self.library = library
        self.exception = exception
        super().__init__(f"the Python library {library} is required on the managed host")
