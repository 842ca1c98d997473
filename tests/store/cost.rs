//! The exact DynamoDB calls each store operation costs (see docs/dynamodb.md).
