terraform {
  required_version = ">= 1.6"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.0"
    }
    # archive_file with glob patterns in `excludes`.
    archive = {
      source  = "hashicorp/archive"
      version = "~> 2.4"
    }
  }

  # Production state lives in S3 (partial configuration, see docs/infrastructure.md):
  #   terraform init -backend-config=bucket=... -backend-config=key=orders/prod.tfstate ...
  backend "s3" {}
}

provider "aws" {
  region = var.region

  default_tags {
    tags = merge(
      {
        Application = "orders"
        Stage       = var.stage
        ManagedBy   = "terraform"
      },
      var.tags,
    )
  }
}
