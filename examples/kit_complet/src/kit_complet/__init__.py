"""Kit Complet: the gated-delivery reference app (catalogue, inquiry form, order page)."""
