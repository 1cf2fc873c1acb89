"""The API Gateway entry Lambda: routes, JWT auth, request models, OpenAPI.

The Lambda entry point is :func:`workflows.api.app.handler`. This package talks to
Step Functions and DynamoDB only through boto3 clients, so the same code runs against
AWS and against the local endpoints (``AWS_ENDPOINT_URL_SFN``, ...). It never
imports ``workflows.local`` or ``workflows.engine``.
"""
