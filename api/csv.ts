// CSV for spreadsheets and auditors: RFC 4180 fields, CRLF line ends, UTF-8 with a BOM
// (so Excel reads Chinese names correctly).

/** Byte order mark: put it first in a CSV file. */
export const CSV_BOM = '\uFEFF';

/** RFC 4180: quote a field holding a quote, comma or line break; double embedded quotes. */
export function csvField(value: string | number | null | undefined): string {
  const s = value === null || value === undefined ? '' : String(value);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/**
 * Text a spreadsheet would run as a formula (=, +, -, @, tab or CR first) gets a leading
 * apostrophe. Use it on free text (names, reasons), not on numbers meant as numbers.
 */
export function csvText(value: string | null | undefined): string {
  if (value === null || value === undefined) return '';
  return /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
}

/** One line of fields, joined by commas, without the line end. */
export function csvRow(fields: Array<string | number | null | undefined>): string {
  return fields.map(csvField).join(',');
}

/** A whole file body (without the BOM): the header and the rows, each line ending in CRLF. */
export function csvLines(rows: Array<Array<string | number | null | undefined>>): string {
  return rows.map((r) => `${csvRow(r)}\r\n`).join('');
}
