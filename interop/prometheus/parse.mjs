// Parses a Prometheus text exposition (a /metrics answer saved to a file) with an independent parser and prints its
// metric families as JSON: {"families":{"<name>":{"type":"COUNTER","metrics":N}}}. Exits 1, naming the line, when
// the text is not the Prometheus text format, or when a family's samples are not numbers.
import { readFileSync } from 'node:fs';
import parsePrometheusTextFormat from 'parse-prometheus-text-format';

const [file] = process.argv.slice(2);
if (!file) {
  console.error('usage: node parse.mjs <metrics.txt>');
  process.exit(2);
}

const isNumber = (text) => text !== undefined && !Number.isNaN(Number(text.replace(/^\+?Inf$/, 'Infinity')));
let parsed;
try {
  parsed = parsePrometheusTextFormat(readFileSync(file, 'utf8'));
} catch (error) {
  console.error(`not the Prometheus text format: ${error.message}`);
  process.exit(1);
}

const families = {};
for (const family of parsed) {
  if (!/^[a-zA-Z_:][a-zA-Z0-9_:]*$/.test(family.name) || !['COUNTER', 'GAUGE', 'HISTOGRAM', 'SUMMARY', 'UNTYPED'].includes(family.type)) {
    console.error(`bad family: ${JSON.stringify(family).slice(0, 300)}`);
    process.exit(1);
  }
  for (const metric of family.metrics) {
    // The parser keeps a histogram's buckets (its _sum and _count only for unlabelled ones): each bucket must be a number.
    const numbers = family.type === 'HISTOGRAM' ? [...Object.values(metric.buckets ?? {})]
      : family.type === 'SUMMARY' ? [metric.count, metric.sum].filter((n) => n !== undefined) : [metric.value];
    if (numbers.length === 0) {
      console.error(`a metric of ${family.name} has no samples: ${JSON.stringify(metric).slice(0, 300)}`);
      process.exit(1);
    }
    if (!numbers.every(isNumber)) {
      console.error(`a sample of ${family.name} is not a number: ${JSON.stringify(metric).slice(0, 300)}`);
      process.exit(1);
    }
  }
  families[family.name] = { type: family.type, metrics: family.metrics.length };
}

console.log(JSON.stringify({ families }));
