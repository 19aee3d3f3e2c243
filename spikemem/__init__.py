"""spikemem: the energy of synaptic-memory organizations in digital neuromorphic accelerators."""

__version__ = "0.1.0"
