// Runs SQL statements in DuckDB (in memory) and prints the rows of the last one, one line per
// row, values separated by '|', NULL as NULL. Usage: node query.mjs 'SQL'
import { DuckDBInstance } from '@duckdb/node-api';

const sql = process.argv[2];
const instance = await DuckDBInstance.create(':memory:');
const connection = await instance.connect();
try {
  const reader = await connection.runAndReadAll(sql);
  for (const row of reader.getRows()) {
    console.log(row.map((v) => (v === null ? 'NULL' : String(v))).join('|'));
  }
} catch (e) {
  console.error(e.message);
  process.exit(1);
}
