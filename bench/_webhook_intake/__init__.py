"""The parts of ``bench/webhook_intake.py`` that run in processes of their own.

They are not benchmarks themselves: ``webhook_intake.py`` starts them with ``python -m``.
"""
