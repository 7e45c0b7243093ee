/**
 * `pathOf(url)`: the path of a request URL, read as text rather than parsed (a broken `Host`
 * header makes a URL that does not parse). Accepts an absolute URL or a bare path; the query
 * and fragment are left out. Runs for every request, so it scans the string once, no pattern.
 */
export const pathOf = (url: string) => {
  const start = url.charCodeAt(0) === SLASH ? 0 : url.indexOf('/', url.indexOf('//') + 2)
  if (start < 0) return '/'
  for (let end = start + 1; end < url.length; end++) {
    const code = url.charCodeAt(end)
    if (code === QUESTION_MARK || code === HASH) return url.slice(start, end)
  }
  return start === 0 ? url : url.slice(start)
}

const SLASH = 47
const QUESTION_MARK = 63
const HASH = 35
