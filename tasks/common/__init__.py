"""Models, repositories, settings and observability shared by every task Lambda."""
