"""PolicyPulse api-gateway: the one public HTTP surface; routes to the services."""
