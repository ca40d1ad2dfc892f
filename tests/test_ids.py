"""Public ids (ids.py)."""

from gated_delivery.ids import ALPHABET, new_public_id


def test_ids_are_long_random_and_safe_everywhere() -> None:
    ids = [new_public_id() for _ in range(2000)]
    assert len(set(ids)) == len(ids)
    assert all(len(i) == 22 and set(i) <= set(ALPHABET) for i in ids)
    # every character position varies: nothing fixed or sequential
    assert all(len({i[p] for i in ids}) > 40 for p in range(22))
