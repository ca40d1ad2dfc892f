"""Sandbox mode (``GD_SANDBOX=1``): a fake provider and simulators, so the flow runs offline."""
