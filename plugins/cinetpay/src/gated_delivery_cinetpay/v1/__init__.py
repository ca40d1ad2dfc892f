"""CinetPay's current API ("v1": OAuth login, ``notify_token``), beside the legacy v2 modules.

``api`` is the HTTP client (login, token cache, payment, status), ``rules`` what may be sent,
``status`` what a status answer means, ``provider`` the ``PaymentProvider``, ``simulator`` the
sandbox server. The facts behind each rule are in the provider documentation.
"""
