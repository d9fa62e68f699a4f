// A small RFC 4180 CSV reader for the bulk import (no dependency): comma-separated
// fields, records ending in CRLF (LF or a lone CR are accepted too), fields optionally
// enclosed in double quotes, a quote inside a quoted field written twice (""), line
// breaks allowed inside quoted fields. A leading UTF-8 BOM (Excel's "CSV UTF-8") is
// dropped. Lenient where files from spreadsheets and ERPs commonly are: a quote inside
// an unquoted field is kept as a character; a missing final line break is fine; records
// may have different numbers of fields (the caller reports that, per line).

export class CsvSyntaxError extends Error {
  constructor(
    message: string,
    /** 1-based physical line of the file where the problem is. */
    readonly fileLine: number,
  ) {
    super(`CSV line ${fileLine}: ${message}`);
    this.name = 'CsvSyntaxError';
  }
}

export interface CsvRecord {
  fields: string[];
  /** 1-based physical line of the file on which the record starts. */
  fileLine: number;
}

export interface CsvOptions {
  delimiter?: string;
}

/** Parses the whole text into records. Throws CsvSyntaxError on an unterminated quoted field or text after a closing quote. */
export function parseCsv(text: string, opts: CsvOptions = {}): CsvRecord[] {
  const delim = opts.delimiter ?? ',';
  if (delim.length !== 1 || delim === '"' || delim === '\r' || delim === '\n') throw new Error('the delimiter must be one character other than a quote or a line break');
  const s = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  const n = s.length;
  const records: CsvRecord[] = [];
  let fields: string[] = [];
  let line = 1;
  let recordLine = 1;
  let i = 0;
  // True right after a delimiter: a record ending there has one more (empty) field.
  let pendingField = false;

  const endRecord = () => {
    records.push({ fields, fileLine: recordLine });
    fields = [];
    pendingField = false;
  };
  /** Consumes a line break at i (CRLF, LF or CR); returns false if there is none. */
  const lineBreak = (): boolean => {
    const c = s.charCodeAt(i);
    if (c === 13 /* \r */) {
      i += s.charCodeAt(i + 1) === 10 ? 2 : 1;
    } else if (c === 10 /* \n */) {
      i += 1;
    } else {
      return false;
    }
    line += 1;
    return true;
  };

  while (i < n) {
    if (!pendingField && fields.length === 0) recordLine = line;
    if (s[i] === '"') {
      // Quoted field.
      const startLine = line;
      let value = '';
      let from = ++i;
      for (;;) {
        const q = s.indexOf('"', i);
        if (q === -1) throw new CsvSyntaxError('a quoted field is not closed (missing ")', startLine);
        // Count the line breaks inside the quoted part for later line numbers.
        for (let k = i; k < q; k++) {
          const c = s.charCodeAt(k);
          if (c === 10 || (c === 13 && s.charCodeAt(k + 1) !== 10)) line += 1;
        }
        if (s[q + 1] === '"') {
          value += s.slice(from, q + 1);
          i = from = q + 2;
          continue;
        }
        value += s.slice(from, q);
        i = q + 1;
        break;
      }
      fields.push(value);
      pendingField = false;
      if (i >= n) break;
      if (s[i] === delim) {
        i += 1;
        pendingField = true;
        continue;
      }
      if (lineBreak()) {
        endRecord();
        continue;
      }
      throw new CsvSyntaxError(`unexpected text after a closing quote: ${JSON.stringify(s.slice(i, i + 10))} (a quote inside a quoted field is written "")`, line);
    }
    // Unquoted field: up to the next delimiter or line break.
    let j = i;
    while (j < n) {
      const c = s[j];
      if (c === delim || c === '\n' || c === '\r') break;
      j += 1;
    }
    fields.push(s.slice(i, j));
    pendingField = false;
    i = j;
    if (i >= n) break;
    if (s[i] === delim) {
      i += 1;
      pendingField = true;
      continue;
    }
    lineBreak();
    endRecord();
  }
  if (pendingField) fields.push('');
  if (fields.length) endRecord();
  return records;
}

// Writing CSV lives in api/csv.ts; re-exported under the names this module's users know.
export { csvField, csvRow as csvLine } from './csv';
