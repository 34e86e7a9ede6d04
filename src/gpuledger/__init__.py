"""gpuledger: scarce accelerators from purchase order to rack."""

__version__ = "0.1.0"
