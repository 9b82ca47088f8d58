# Chapters (MyST .md notebooks) are collected and run through nbval by this plugin.
pytest_plugins = ["booktools.pytest_chapters"]
