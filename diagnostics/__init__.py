"""The weather-checker's diagnostics page server (`python -m diagnostics`: diagnostics.app under waitress)."""
