"""Data helpers of the plugin."""
