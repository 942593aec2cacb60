"""canary: a light check of one outside source and the stack's health every 5 minutes, with a deadline alert."""
