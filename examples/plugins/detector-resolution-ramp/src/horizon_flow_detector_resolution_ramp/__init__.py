"""horizon-flow-detector-resolution-ramp.

Marking the close on event contracts: aggressive trading in the last minutes
before a market closes or resolves that pushes the price against its prior
trend. Written only against horizon-flow's public API, as a firm's own
plugin would be.
"""

__version__ = "0.1.0"
