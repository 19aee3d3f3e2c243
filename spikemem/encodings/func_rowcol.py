"""Func-RowCol: the Func-Pure kernel store, walked with row and column range logic."""

from __future__ import annotations

from .func_pure import FuncPure


class FuncRowCol(FuncPure):
    """Same memory image as :class:`FuncPure`; the controller computes, per event, the kernel rows
    and columns whose taps land inside the layer and fetches only the words holding them. At the
    layer's borders (and with stride > 1) this skips reads that Func-Pure makes, for the price of
    the range arithmetic in the controller.
    """

    name = "func_rowcol"
    label = "Func-RowCol"
    description = "dense kernels only; row/column ranges computed; only valid taps fetched"
    templates = ("rtl/func_rowcol.v.j2", "rtl/func_pure.v.j2", "rtl/_conv.v.j2")

    def walks_invalid_taps(self) -> bool:
        return False
