"""workflows.testing: see ../shared/DESIGN.md (not built yet)."""
