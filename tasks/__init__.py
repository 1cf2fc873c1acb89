"""Lambda handlers for the order, notification and sweep state machines.

One module per Task state, grouped by domain (``orders``, ``notifications``);
``common`` holds the models, repositories, settings and observability they share.
"""
