import { CsvSyntaxError, csvField, csvLine, parseCsv } from '../../api/csv-parse';

const fields = (text: string) => parseCsv(text).map((r) => r.fields);

describe('parseCsv (RFC 4180)', () => {
  it('reads plain records with CRLF, LF or CR line ends, with or without a final line break', () => {
    expect(fields('a,b,c\r\n1,2,3\r\n')).toEqual([['a', 'b', 'c'], ['1', '2', '3']]);
    expect(fields('a,b,c\n1,2,3')).toEqual([['a', 'b', 'c'], ['1', '2', '3']]);
    expect(fields('a,b\r1,2\r')).toEqual([['a', 'b'], ['1', '2']]);
    expect(fields('')).toEqual([]);
  });

  it('keeps empty fields, leading, inner and trailing', () => {
    expect(fields(',a,,b,\r\n')).toEqual([['', 'a', '', 'b', '']]);
    expect(fields('a,')).toEqual([['a', '']]);
    expect(fields(',')).toEqual([['', '']]);
  });

  it('a blank line is a record with one empty field (the caller skips it)', () => {
    expect(fields('a\r\n\r\nb\r\n')).toEqual([['a'], [''], ['b']]);
  });

  it('reads quoted fields with delimiters, doubled quotes and line breaks inside', () => {
    expect(fields('"a,b","say ""hi""","two\r\nlines","x\ny"\r\nnext,"",""""\r\n')).toEqual([
      ['a,b', 'say "hi"', 'two\r\nlines', 'x\ny'],
      ['next', '', '"'],
    ]);
    expect(fields('a,"b"')).toEqual([['a', 'b']]);
    expect(fields('"a",')).toEqual([['a', '']]);
    expect(fields('"中文, 有限公司",¥')).toEqual([['中文, 有限公司', '¥']]);
  });

  it('drops a leading UTF-8 BOM, and only that', () => {
    expect(fields('\uFEFFa,b\r\n')).toEqual([['a', 'b']]);
    expect(fields('a,\uFEFFb')).toEqual([['a', '\uFEFFb']]);
  });

  it('keeps a quote inside an unquoted field as a character', () => {
    expect(fields('12" pipe,x')).toEqual([['12" pipe', 'x']]);
  });

  it('tells the physical line each record starts on, counting line breaks inside quotes', () => {
    const r = parseCsv('h1,h2\r\n"multi\r\nline",x\r\nb,y\n"c\nd\ne",z\r\nlast,1');
    expect(r.map((x) => x.fileLine)).toEqual([1, 2, 4, 5, 8]);
  });

  it('refuses an unterminated quoted field, naming the line where it opens', () => {
    expect(() => parseCsv('a,b\r\n1,"open\r\n2,3\r\n')).toThrow(CsvSyntaxError);
    try {
      parseCsv('a,b\r\n1,"open\r\n2,3\r\n');
    } catch (err) {
      expect((err as CsvSyntaxError).fileLine).toBe(2);
      expect((err as Error).message).toBe('CSV line 2: a quoted field is not closed (missing ")');
    }
  });

  it('refuses text after a closing quote', () => {
    expect(() => parseCsv('a,b\r\n"x"y,1\r\n')).toThrow('CSV line 2: unexpected text after a closing quote');
  });

  it('supports another one-character delimiter', () => {
    expect(parseCsv('a;"b;c"\n1;2', { delimiter: ';' }).map((r) => r.fields)).toEqual([['a', 'b;c'], ['1', '2']]);
    expect(() => parseCsv('a', { delimiter: '"' })).toThrow();
  });

  it('round-trips what csvField writes', () => {
    const rows = [
      ['plain', 'with,comma', 'with "quote"', 'line\r\nbreak', '', '  spaced  '],
      ['=1+1', '中文', '"', ',', '\n', 'x'],
    ];
    const text = rows.map(csvLine).join('\r\n') + '\r\n';
    expect(fields(text)).toEqual(rows);
    expect(csvField(null)).toBe('');
    expect(csvField(12.5)).toBe('12.5');
  });

  it('parses 10,000 records quickly', () => {
    const line = 'S01,R02,GOODS,INV-000001,10,PCS,12.5,125.00,CNY,2026-11-20,2026-11,"memo, with comma"';
    const text = ['h'].concat(Array.from({ length: 10_000 }, () => line)).join('\r\n');
    const t0 = Date.now();
    const r = parseCsv(text);
    expect(Date.now() - t0).toBeLessThan(1000);
    expect(r).toHaveLength(10_001);
    expect(r[10_000]!.fields).toHaveLength(12);
    expect(r[10_000]!.fields[11]).toBe('memo, with comma');
  });
});
