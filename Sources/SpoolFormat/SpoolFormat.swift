// SpoolFormat: Kafka RecordBatch v2.
