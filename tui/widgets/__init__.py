"""Widgets the screens are built from; they never import a screen or the App."""
