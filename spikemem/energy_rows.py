"""The error of a missing energy-table row, apart from the pricing code so that the command line
can name it without importing pandas and scipy at every start."""


class MissingEnergyRow(LookupError):
    """The energy table has no row for a (layer, encoding, weight bits, operation)."""
