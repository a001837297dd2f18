# -*- coding: utf-8 -*-
# Copyright: underlay.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""nftables commands run in-process through libnftables, the library the ``nft`` command is
built on (as Debian's python3-nftables binding does), in the network namespace the calling
thread is in.

The names resolver puts a small table into every namespace it serves; ``nsenter nft`` would
cost a fork and exec per namespace (about 4 ms, 4 s for a batch of 1000), libnftables after a
setns(2) about 0.15 ms.
"""

from __future__ import annotations

import ctypes
import ctypes.util

_LIBRARY = []
_NFT_CTX_DEFAULT = 0


def _lib():
    if not _LIBRARY:
        name = ctypes.util.find_library("nftables") or "libnftables.so.1"
        try:
            lib = ctypes.CDLL(name)
        except OSError:
            raise OSError("needs libnftables (package libnftables1, installed with nftables) on the managed"
                          " host") from None
        lib.nft_ctx_new.restype = ctypes.c_void_p
        lib.nft_ctx_new.argtypes = [ctypes.c_uint32]
        lib.nft_ctx_free.argtypes = [ctypes.c_void_p]
        lib.nft_ctx_buffer_error.argtypes = [ctypes.c_void_p]
        lib.nft_ctx_get_error_buffer.restype = ctypes.c_char_p
        lib.nft_ctx_get_error_buffer.argtypes = [ctypes.c_void_p]
        lib.nft_run_cmd_from_buffer.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
        _LIBRARY.append(lib)
    return _LIBRARY[0]


def run(commands):
    """Run ``commands`` (nft's own syntax, one transaction) in this thread's namespace; raises
    OSError with nft's message when they fail or the library is missing."""
    lib = _lib()
    ctx = lib.nft_ctx_new(_NFT_CTX_DEFAULT)
    try:
        lib.nft_ctx_buffer_error(ctx)
        if lib.nft_run_cmd_from_buffer(ctx, commands.encode()) != 0:
            error = (lib.nft_ctx_get_error_buffer(ctx) or b"").decode(errors="replace").strip()
            raise OSError(f"nft: {error or 'failed'}")
    finally:
        lib.nft_ctx_free(ctx)
