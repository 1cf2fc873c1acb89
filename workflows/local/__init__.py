"""workflows.local: see ../shared/DESIGN.md (not built yet)."""
