output "orders_table_name" {
  description = "Name of the single table (ORDERS_TABLE and the OrdersTableName substitution)."
  value       = aws_dynamodb_table.orders.name
}

output "orders_table_arn" {
  description = "ARN of the single table."
  value       = aws_dynamodb_table.orders.arn
}

output "idempotency_table_name" {
  description = "Name of the idempotency table (IDEMPOTENCY_TABLE)."
  value       = aws_dynamodb_table.idempotency.name
}

output "idempotency_table_arn" {
  description = "ARN of the idempotency table."
  value       = aws_dynamodb_table.idempotency.arn
}

output "order_exports_bucket_name" {
  description = "Name of the order exports bucket (the ExportBucket substitution)."
  value       = aws_s3_bucket.order_exports.bucket
}
