"""Names the processes of the webhook intake benchmark agree on (cheap to import)."""

from __future__ import annotations

from typing import Final

#: Every server and every request stays on the loopback interface.
HOST: Final = "127.0.0.1"
#: Where the orchestrator hands the fake provider's signing secret over (hex).
SECRET_ENV: Final = "GD_BENCH_FAKE_SECRET"  # noqa: S105 - a variable name, not a secret
#: The table the bare endpoint writes to (in the benchmark's throwaway database).
BARE_TABLE: Final = "bench_bare_intake"


def plain_url(url: str) -> str:
    """``url`` in the form asyncpg takes (without SQLAlchemy's ``+asyncpg``)."""
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)
