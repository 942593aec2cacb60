"""A tiny static web server for the weather-checker's diagnostics folder (`python -m diagnostics`)."""
