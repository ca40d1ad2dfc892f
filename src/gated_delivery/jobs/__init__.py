"""The transactional outbox and the embedded worker that runs it.

A job row commits with the change that asked for it. Any runner (the embedded worker here,
another engine later) does the same three things: ``claim`` due rows, ``execute`` each with
its handler, and let ``execute`` record the outcome on the row.
"""

from gated_delivery.jobs.outbox import backoff_seconds, claim, execute
from gated_delivery.jobs.worker import Worker

__all__ = ["Worker", "backoff_seconds", "claim", "execute"]
