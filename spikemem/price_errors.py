"""The error of bad input to ``spikemem price`` and ``spikemem snn export``, apart from the pricing
code so that the command line can name it without importing nir, h5py and pandas at every start."""


class PriceInputError(ValueError):
    """A model file, activity input or option that cannot be priced; the message names the problem."""
