"""Parses scraped /metrics bodies with the Prometheus project's own OpenMetrics parser
(prometheus_client) and prints, per file, every sample as [name, labels, value] in JSON.
A body the parser refuses exits 1 with the parser's message."""
import json
import sys

from prometheus_client.openmetrics.parser import text_string_to_metric_families

scrapes = []
for path in sys.argv[1:]:
    with open(path, encoding="utf-8") as f:
        text = f.read()
    try:
        samples = []
        for family in text_string_to_metric_families(text):
            for s in family.samples:
                samples.append([s.name, s.labels, s.value, family.type])
    except Exception as e:  # the parser's own error names the line
        print(f"{path}: not OpenMetrics: {e}", file=sys.stderr)
        sys.exit(1)
    scrapes.append(samples)
json.dump(scrapes, sys.stdout)
