"""Signed webhooks to the shop's own systems, following the Standard Webhooks specification.

``events`` lists what is sent and when; ``emit`` writes an event and one outbox job per
subscribed endpoint in the transaction of the change; ``sender`` signs and posts it, with
its own retry schedule; ``endpoints`` is what the CLI and the staff pages manage;
``destinations`` refuses addresses inside the shop's network (SSRF); ``signing`` holds the
secrets and the signature.
"""
