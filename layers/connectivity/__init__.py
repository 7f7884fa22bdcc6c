"""Omnidirectional connectivity (Omniscape method): engine in ``omniscape``; no Django, no municipalities."""
