"""Refunds: paying an approved refund once through the refund gateway
(``payment``), the gateways themselves (``gateways``), and the customer's
resolution letter (``letters``)."""
