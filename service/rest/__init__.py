"""REST v1 and the InfluxDB write endpoint (issue 14): one more front door over the same use cases."""
