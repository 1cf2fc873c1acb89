"""workflows.console: see ../shared/DESIGN.md (not built yet)."""
