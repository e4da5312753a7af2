/**
 * RFC 3339 date-time exactly as JSON Schema `format: date-time` is enforced by the reference
 * verifier's validator (full mode): a date and a time separated by `T`, `t` or whitespace, a time zone
 * required, calendar-valid dates, and a leap second only at 23:59:60 UTC.
 */
const DATE = /^(\d\d\d\d)-(\d\d)-(\d\d)$/;
const TIME = /^(\d\d):(\d\d):(\d\d(?:\.\d+)?)(z|([+-])(\d\d)(?::?(\d\d))?)?$/i;
const DAYS_IN_MONTH = [0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

function isLeapYear(year: number): boolean {
  return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
}

function isFullDate(text: string): boolean {
  const m = DATE.exec(text);
  if (!m) return false;
  const year = Number(m[1]);
  const month = Number(m[2]);
  const day = Number(m[3]);
  if (month < 1 || month > 12 || day < 1) return false;
  const max = month === 2 && isLeapYear(year) ? 29 : (DAYS_IN_MONTH[month] ?? 0);
  return day <= max;
}

function isFullTime(text: string): boolean {
  const m = TIME.exec(text);
  if (!m) return false;
  const hour = Number(m[1]);
  const minute = Number(m[2]);
  const second = Number(m[3]);
  const zone = m[4];
  const sign = m[5] === '-' ? -1 : 1;
  const zoneHour = Number(m[6] ?? 0);
  const zoneMinute = Number(m[7] ?? 0);
  if (!zone || zoneHour > 23 || zoneMinute > 59) return false;
  if (hour <= 23 && minute <= 59 && second < 60) return true;
  const utcMinute = minute - zoneMinute * sign;
  const utcHour = hour - zoneHour * sign - (utcMinute < 0 ? 1 : 0);
  return (utcHour === 23 || utcHour === -1) && (utcMinute === 59 || utcMinute === -1) && second < 61;
}

export function isRfc3339DateTime(value: unknown): value is string {
  if (typeof value !== 'string') return false;
  const parts = value.split(/t|\s/i);
  return parts.length === 2 && isFullDate(parts[0] ?? '') && isFullTime(parts[1] ?? '');
}

/** Milliseconds since the epoch, or null when `Date.parse` cannot read it (the reference's first check). */
export function parseTimestamp(value: unknown): number | null {
  if (typeof value !== 'string') return null;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? null : ms;
}
