"""The app's screens and modals, one per module; they never import tui.app."""
