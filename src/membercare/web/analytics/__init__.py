"""Analytics pages: the dashboards per role, segment migration and cohorts, reports and exports."""
