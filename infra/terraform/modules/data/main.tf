# The two DynamoDB tables of the SAM template (Resources/OrdersTable, IdempotencyTable).
# Key schemas, GSIs and TTL must match it: tests/unit/infra/test_terraform_parity.py.

# Single table: orders, inventory, customers, preferences, deliveries (docs/data-model.md).
resource "aws_dynamodb_table" "orders" {
  name                        = "${var.name_prefix}-Orders"
  billing_mode                = "PAY_PER_REQUEST"
  hash_key                    = "PK"
  range_key                   = "SK"
  deletion_protection_enabled = var.deletion_protection

  attribute {
    name = "PK"
    type = "S"
  }

  attribute {
    name = "SK"
    type = "S"
  }

  attribute {
    name = "GSI1PK"
    type = "S"
  }

  attribute {
    name = "GSI1SK"
    type = "S"
  }

  global_secondary_index {
    name            = "GSI1"
    hash_key        = "GSI1PK"
    range_key       = "GSI1SK"
    projection_type = "ALL"
  }

  point_in_time_recovery {
    enabled = true
  }

  # AWS managed KMS key (aws/dynamodb), as SSESpecification.SSEEnabled in SAM.
  server_side_encryption {
    enabled = true
  }
}

# Powertools idempotency records; DynamoDB deletes them after `expiration`.
resource "aws_dynamodb_table" "idempotency" {
  name                        = "${var.name_prefix}-Idempotency"
  billing_mode                = "PAY_PER_REQUEST"
  hash_key                    = "id"
  deletion_protection_enabled = var.deletion_protection

  attribute {
    name = "id"
    type = "S"
  }

  ttl {
    attribute_name = "expiration"
    enabled        = true
  }

  point_in_time_recovery {
    enabled = true
  }

  server_side_encryption {
    enabled = true
  }
}

# Exports of stuck orders (CSV) read by the OrderExportSweep Distributed Map, and the
# result files it writes under sweep-results/ (Resources/OrderExportsBucket).
resource "aws_s3_bucket" "order_exports" {
  # S3 names are global: a unique suffix, as CloudFormation generates one.
  bucket_prefix = "${var.name_prefix}-order-exports-"
}

resource "aws_s3_bucket_server_side_encryption_configuration" "order_exports" {
  bucket = aws_s3_bucket.order_exports.id

  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm = "AES256"
    }
  }
}

resource "aws_s3_bucket_public_access_block" "order_exports" {
  bucket                  = aws_s3_bucket.order_exports.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}
