"""Seed 001's auth and enrollment API on Django REST Framework, answering errata's envelope."""
