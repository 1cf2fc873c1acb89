output "url" {
  description = "Base URL of the stage, e.g. https://abc.execute-api.eu-west-1.amazonaws.com/Prod/ (SAM output ApiUrl)."
  value       = "${aws_api_gateway_stage.this.invoke_url}/"
}

output "rest_api_id" {
  description = "REST API id."
  value       = aws_api_gateway_rest_api.this.id
}

output "execution_arn" {
  description = "Execution ARN of the REST API."
  value       = aws_api_gateway_rest_api.this.execution_arn
}
