"""The behaviour gated-delivery ships with, registered like any other plugin."""
