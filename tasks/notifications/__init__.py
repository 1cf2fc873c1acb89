"""Task Lambdas of the notification state machine."""
