"""gated-delivery: sell a deliverable, release it only once the provider confirms payment."""

__version__ = "0.1.0.dev0"
