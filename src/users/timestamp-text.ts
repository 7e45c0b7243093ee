/**
 * A `timestamptz` as PostgreSQL writes it (`DateStyle` ISO, which the connection pins), in the
 * API's form: `2026-12-06 04:21:44.965123+00` → `2026-12-06T04:21:44.965Z`. UTC, milliseconds,
 * the microseconds cut off (as `Date#toISOString` cut them when the driver parsed a `Date`).
 *
 * The text is reshaped rather than parsed: parsing two timestamps per row into `Date` and printing
 * them again was about a tenth of the service's CPU on a page of 100, and having the server format
 * them (`to_char`) cost it about twice its own text output.
 */
export const apiTimestamp = (text: string): string => {
  const end = text.length - 3
  // The common case: a four-digit year in a session whose time zone is UTC (offset `+00`).
  if (text.charCodeAt(end) === PLUS && text.charCodeAt(end + 1) === ZERO && text.charCodeAt(end + 2) === ZERO && text.charCodeAt(4) === DASH && text.charCodeAt(10) === SPACE) {
    const day = text.slice(0, 10)
    if (end === 19) return `${day}T${text.slice(11, 19)}.000Z`
    if (end >= 23) return `${day}T${text.slice(11, 23)}Z`
    // One or two digits of fraction: PostgreSQL drops trailing zeros.
    if (text.charCodeAt(19) === DOT && end > 20) return `${day}T${text.slice(11, end)}${'000'.slice(end - 20)}Z`
  }
  return otherZone(text)
}

const PLUS = 43
const DASH = 45
const DOT = 46
const SPACE = 32
const ZERO = 48

const TIMESTAMPTZ = /^(\d{4,})-(\d\d)-(\d\d) (\d\d):(\d\d):(\d\d)(?:\.(\d{1,6}))?([+-])(\d\d)(?::(\d\d))?(?::(\d\d))?$/

// Any other offset (a session in another time zone, historical offsets with seconds included) or
// a year past 9999: the instant is computed, then printed as `Date` prints it.
const otherZone = (text: string) => {
  const parts = TIMESTAMPTZ.exec(text)
  if (!parts) throw new Error(`unexpected timestamptz text ${JSON.stringify(text)}`)
  const [, year, month, day, hours, minutes, seconds, fraction = '', sign, offsetHours, offsetMinutes = '0', offsetSeconds = '0'] = parts
  const instant = new Date(0)
  instant.setUTCFullYear(Number(year), Number(month) - 1, Number(day))
  instant.setUTCHours(Number(hours), Number(minutes), Number(seconds), Number(fraction.padEnd(3, '0').slice(0, 3)))
  const offsetMs = (Number(offsetHours) * 3600 + Number(offsetMinutes) * 60 + Number(offsetSeconds)) * 1000
  instant.setTime(instant.getTime() - (sign === '-' ? -offsetMs : offsetMs))
  return instant.toISOString()
}
